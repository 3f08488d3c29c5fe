namespace Breadboard.Batch.Providers;

/// <summary>Builds a provider from its <c>--provider</c> name.</summary>
public static class HistoricalProviders
{
    /// <summary>The names <see cref="Create"/> knows.</summary>
    public static IReadOnlyList<string> Names { get; } =
        [SyntheticHistoricalProvider.ProviderName, FileHistoricalProvider.ProviderName, BinanceKlinesProvider.ProviderName, PolygonAggregatesProvider.ProviderName];

    /// <exception cref="ArgumentException">The name is unknown, or the file provider has no path.</exception>
    public static IHistoricalProvider Create(string name, HistoricalProviderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        options ??= HistoricalProviderOptions.Default;
        switch (name.Trim().ToLowerInvariant())
        {
            case SyntheticHistoricalProvider.ProviderName:
                return new SyntheticHistoricalProvider(options.Seed);
            case FileHistoricalProvider.ProviderName:
                if (string.IsNullOrWhiteSpace(options.Path))
                {
                    throw new ArgumentException("provider file needs a path to a .csv or .ndjson file", nameof(options));
                }

                return new FileHistoricalProvider(options.Path);
            case BinanceKlinesProvider.ProviderName:
                return new BinanceKlinesProvider(options);
            case PolygonAggregatesProvider.ProviderName:
                return new PolygonAggregatesProvider(options);
            default:
                throw new ArgumentException($"unknown provider '{name}'; known: {string.Join(", ", Names)}", nameof(name));
        }
    }
}
