using Breadboard.Core.Model;

namespace Breadboard.Core.Engine;

/// <summary>Receives what the engine emits, synchronously, on the thread that called <see cref="WindowEngine.Process"/>.</summary>
public interface IEngineOutput
{
    /// <summary>A window closed; each (symbol, window, window_start) is emitted exactly once.</summary>
    void OnBar(Bar bar);

    /// <summary>A rule fired on the bar emitted just before.</summary>
    void OnAlert(Alert alert);

    /// <summary>A tick arrived after every window it belongs to had closed; it is in no bar.</summary>
    void OnLate(in Tick tick, long watermark);
}

/// <summary>What became of one tick.</summary>
public enum TickOutcome
{
    /// <summary>Added to at least one window.</summary>
    Accepted,

    /// <summary>Every window it belongs to had closed; sent to <see cref="IEngineOutput.OnLate"/>.</summary>
    Late,

    /// <summary>Same symbol and trade id as a tick seen within the dedup horizon; dropped.</summary>
    Duplicate,
}
