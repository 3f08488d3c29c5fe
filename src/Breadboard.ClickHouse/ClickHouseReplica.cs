using Breadboard.Core.Seams;

namespace Breadboard.ClickHouse;

/// <summary>One server of a store URL, and what the last request to it found (for health and <c>/api/pipeline</c>).</summary>
public sealed class ClickHouseReplica(Uri url)
{
    private volatile ClickHouseReplicaState _state = new(null, null, null);

    /// <summary>The server's HTTP interface, ending in '/'.</summary>
    public Uri Url { get; } = url.AbsoluteUri.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/");

    public ClickHouseReplicaState State => _state;

    internal void Answered()
    {
        // Every request ends here: a new state only when it changes.
        if (_state.Up != true)
        {
            _state = new ClickHouseReplicaState(true, null, DateTimeOffset.UtcNow);
        }
    }

    internal void Failed(Exception e) => Failed(e.Message);

    internal void Failed(string why)
    {
        var line = OutsideText.ForDisplay(SecretText.RedactText(why.Split('\n')[0]));
        _state = new ClickHouseReplicaState(false, line, _state.Up == false ? _state.Since : DateTimeOffset.UtcNow);
    }
}

/// <summary>A replica's state as requests found it.</summary>
/// <param name="Up">True once it answered, false once a request to it failed; null before any request.</param>
/// <param name="Error">The last failure, one line, when it is down.</param>
/// <param name="Since">When it became up or down.</param>
public sealed record ClickHouseReplicaState(bool? Up, string? Error, DateTimeOffset? Since);
