using Breadboard.Core.Model;

namespace Breadboard.Core.Streaming;

/// <summary>Watches a running pipeline for live views (the dashboard's stream); must return at once, never block.</summary>
public interface ILiveObserver
{
    /// <summary>A tick the engine took (not a duplicate).</summary>
    void OnTick(in Tick tick);

    /// <summary>A window closed.</summary>
    void OnClosedBar(Bar bar);
}
