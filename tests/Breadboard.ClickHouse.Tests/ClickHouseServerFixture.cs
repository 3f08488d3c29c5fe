using Breadboard.TestKit.ClickHouse;

namespace Breadboard.ClickHouse.Tests;

/// <summary>One real clickhouse-server per test class; tests use their own database names.</summary>
public sealed class ClickHouseServerFixture : IAsyncLifetime
{
    private ClickHouseServerProcess? _server;

    public ClickHouseServerProcess Server => _server ?? throw new InvalidOperationException("The server has not started.");

    public Uri Url => new(Server.Url);

    public async ValueTask InitializeAsync() => _server = await ClickHouseServerProcess.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>A database of its own for one test, created on the server.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix, CancellationToken cancellationToken)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}";
        using var admin = new ClickHouseHttpClient(Url, "default", null, null);
        await admin.ExecuteAsync($"CREATE DATABASE {name}", cancellationToken);
        return name;
    }
}
