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

    /// <summary>
    /// The engine took a tick: it is in its windows, or late. Duplicates, held and refused ticks are not taken.
    /// Sent after the bars the tick's event time closed.
    /// </summary>
    /// <param name="position">
    /// The position (a line, an offset) given to <see cref="WindowEngine.Process"/> with the input being taken: the
    /// tick's own, or for a held tick the one whose arrival confirmed its jump. Input before a checkpoint's position
    /// was taken before the checkpoint.
    /// </param>
    void OnTick(in Tick tick, long position);

    /// <summary>
    /// The engine refused a tick: values out of range, a time its windows cannot represent, or a time from the
    /// future (<see cref="Pipeline.FutureGuard"/>). A held tick is refused after later ticks, so refusals need not
    /// come in input order.
    /// </summary>
    /// <param name="position">The position given to <see cref="WindowEngine.Process"/> with this tick.</param>
    /// <param name="reason">One line naming the field, the value and the limit.</param>
    void OnReject(in Tick tick, long position, string reason);
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

    /// <summary>Too far ahead of the watermark: held until later ticks confirm or contradict the jump.</summary>
    Held,

    /// <summary>Refused; sent to <see cref="IEngineOutput.OnReject"/> with the reason.</summary>
    Refused,
}
