using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Breadboard.TestKit.ZooKeeper;

/// <summary>
/// A real standalone ZooKeeper (Debian's 3.8) on a free loopback port, with its data in its own temporary
/// directory; it can be killed (SIGKILL) or paused (SIGSTOP) and started again on the same port and data.
/// </summary>
/// <remarks>Debian's <c>zookeeper</c> package provides the jars in <c>/usr/share/java</c> and pulls in a Java
/// runtime (<c>apt-get install -y zookeeper</c>); a missing one is an error, never a skipped test. The server runs
/// <c>QuorumPeerMain</c> directly (not Debian's init scripts), logs to its standard output, answers only the
/// <c>ruok</c> and <c>srvr</c> four-letter words and has no admin server (it would take port 8080).</remarks>
public sealed class ZooKeeperProcess : ServerProcess
{
    private const string JavaDirectory = "/usr/share/java";

    // zookeeper.jar's manifest names the rest of its class path (jute, netty, slf4j-api, ...); the log4j binding is ours to add.
    private static readonly string[] Jars = ["zookeeper.jar", "slf4j-log4j12.jar", "log4j-1.2.jar"];

    private ZooKeeperProcess(string java, int port, string directory)
        : base(java, directory)
    {
        Port = port;
    }

    /// <summary>The client port, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:PORT</c>, as a ZooKeeper client's connect string.</summary>
    public string ConnectString => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    protected override IEnumerable<string> Arguments =>
    [
        // Small and quick to start: a test server holds a few hundred znodes.
        "-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-cp", string.Join(':', [WorkDirectory, .. Jars.Select(jar => Path.Combine(JavaDirectory, jar))]),
        "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        Path.Combine(WorkDirectory, "zoo.cfg"),
    ];

    /// <summary>Starts a server and waits until it serves clients (see <see cref="IsReadyAsync"/>).</summary>
    public static async Task<ZooKeeperProcess> StartAsync(CancellationToken cancellationToken = default)
    {
        var java = FindBinary(["/usr/bin/java", "/usr/lib/jvm/default-java/bin/java"], "zookeeper");
        foreach (var jar in Jars)
        {
            FindBinary([Path.Combine(JavaDirectory, jar)], "zookeeper");
        }

        var server = new ZooKeeperProcess(java, FreePort(), Directory.CreateTempSubdirectory("breadboard-zookeeper-").FullName);
        return await LaunchAsync(server, s => s.WriteConfig(), cancellationToken);
    }

    private void WriteConfig()
    {
        // tickTime 1000: sessions may last 2-20 s (ClickHouse asks for 6), and an expired one is noticed within a second.
        // forceSync=no: no fsync per transaction; a SIGKILL still keeps what was written, the OS holds it.
        File.WriteAllLines(Path.Combine(WorkDirectory, "zoo.cfg"),
        [
            "tickTime=1000",
            "dataDir=" + Path.Combine(WorkDirectory, "data"),
            string.Create(CultureInfo.InvariantCulture, $"clientPort={Port}"),
            "clientPortAddress=127.0.0.1",
            "admin.enableServer=false",
            "4lw.commands.whitelist=ruok, srvr",
            "forceSync=no",
        ]);
        File.WriteAllLines(Path.Combine(WorkDirectory, "log4j.properties"),
        [
            "log4j.rootLogger=INFO, CONSOLE",
            "log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender",
            "log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout",
            "log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1}: %m%n",
        ]);
    }

    /// <summary>Ready once <c>ruok</c> is answered <c>imok</c> and <c>srvr</c> describes a serving server.</summary>
    /// <remarks><c>imok</c> alone comes as soon as the port is bound, some 0.5 s before the server takes sessions; a
    /// clickhouse-server 18.16 whose first connection is refused in that window keeps a DDL worker without ZooKeeper
    /// and crashes (SIGSEGV) on its first <c>ON CLUSTER</c> query.</remarks>
    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        await FourLetterWordAsync("ruok", cancellationToken) == "imok"
        && (await FourLetterWordAsync("srvr", cancellationToken))?.StartsWith("Zookeeper version:", StringComparison.Ordinal) == true;

    /// <summary>The answer to a four-letter word ("This ZooKeeper instance is not currently serving requests" to
    /// <c>srvr</c> while starting), or null when there was none.</summary>
    private async Task<string?> FourLetterWordAsync(string word, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(word), timeout.Token);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            return await reader.ReadToEndAsync(timeout.Token);
        }
        catch (SocketException)
        {
            return null; // not listening yet
        }
        catch (IOException)
        {
            return null; // closed before answering
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null; // the 2 s timeout: still starting
        }
    }
}
