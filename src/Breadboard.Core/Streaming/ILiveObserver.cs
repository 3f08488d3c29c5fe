using Breadboard.Core.Model;

namespace Breadboard.Core.Streaming;

/// <summary>Watches a running pipeline for live views (the dashboard's stream); must return at once, never block.</summary>
public interface ILiveObserver
{
    /// <summary>A tick the engine took (not a duplicate).</summary>
    void OnTick(in Tick tick);

    /// <summary>A tick the engine took, with the <see cref="System.Diagnostics.Stopwatch"/> stamp of when this process received it (0: unknown), for <see cref="Freshness"/>.</summary>
    void OnTick(in Tick tick, long receivedAt) => OnTick(in tick);

    /// <summary>A window closed.</summary>
    void OnClosedBar(Bar bar);

    /// <summary>
    /// An alert the engine fired, at once: before its store write and before the alert bus has it, as a live view
    /// already shows the bar from its close.
    /// </summary>
    void OnAlert(Alert alert)
    {
    }

    /// <summary>The (symbol, window) charts being watched: a pipeline that can, shows them their open bars now and then.</summary>
    IReadOnlyList<(string Symbol, string Window)> WatchedCharts => [];

    /// <summary>The bar so far of a watched chart's open window, so its candle moves between closes.</summary>
    void OnOpenBar(Bar bar)
    {
    }
}
