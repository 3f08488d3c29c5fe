using System.Globalization;

namespace Breadboard.TestKit.Nats;

/// <summary>
/// A real <c>nats-server</c> with JetStream and a file store, on a free loopback port, in its own temporary
/// directory; it can be killed (SIGKILL) and started again on the same port and store to test survival.
/// </summary>
/// <remarks>Debian's <c>nats-server</c> package (2.9) provides the binary; scripts/test.sh installs it.</remarks>
public sealed class NatsServerProcess : ServerProcess
{
    private NatsServerProcess(string binary, int port, string storeDirectory)
        : base(binary, storeDirectory)
    {
        Port = port;
    }

    public int Port { get; }

    /// <summary>The JetStream store directory, kept across kills and restarts.</summary>
    public string StoreDirectory => WorkDirectory;

    /// <summary><c>nats://127.0.0.1:PORT</c>.</summary>
    public string Url => string.Create(CultureInfo.InvariantCulture, $"nats://127.0.0.1:{Port}");

    protected override IEnumerable<string> Arguments => ["-a", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-js", "-sd", StoreDirectory];

    /// <summary>Starts a server and waits until it accepts connections.</summary>
    public static async Task<NatsServerProcess> StartAsync(CancellationToken cancellationToken = default)
    {
        var binary = FindBinary(["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"], "nats-server");
        var server = new NatsServerProcess(binary, FreePort(), Directory.CreateTempSubdirectory("breadboard-nats-").FullName);
        return await LaunchAsync(server, null, cancellationToken);
    }

    /// <summary>JetStream is ready once the server logs it; the port alone may answer a moment earlier.</summary>
    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        Task.FromResult(Output.Contains("Server is ready", StringComparison.Ordinal));
}
