namespace Breadboard.Notify.Policy;

/// <summary>Where silences live, shared by the notifier, the API and the CLI.</summary>
public interface ISilenceStore
{
    /// <summary>Active and pending silences; with <paramref name="includeExpired"/> also the ended ones still kept.</summary>
    ValueTask<IReadOnlyList<Silence>> ListAsync(bool includeExpired, CancellationToken cancellationToken = default);

    /// <summary>Stores a new silence. Throws <see cref="ArgumentException"/> whose message is the one-line reason alone (for the API and CLI to show) when it is invalid or its id is taken.</summary>
    ValueTask<Silence> CreateAsync(Silence silence, CancellationToken cancellationToken = default);

    /// <summary>Ends the silence now if it has not ended yet; false when the id is unknown.</summary>
    ValueTask<bool> ExpireAsync(string id, CancellationToken cancellationToken = default);
}
