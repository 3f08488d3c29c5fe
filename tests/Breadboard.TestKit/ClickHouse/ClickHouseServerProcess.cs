using System.Globalization;
using System.Xml.Linq;

namespace Breadboard.TestKit.ClickHouse;

/// <summary>
/// A real <c>clickhouse-server</c> on free loopback ports, with its config, data and logs in its own temporary
/// directory; it can be killed (SIGKILL) and started again on the same ports and data to test survival. Started
/// with <see cref="ClickHouseReplicaOpts"/> it is one replica of a replicated cluster (see <see cref="ClickHouseClusterProcess"/>).
/// </summary>
/// <remarks>Debian's <c>clickhouse-server</c> package (18.16) provides the binary and the stock
/// <c>/etc/clickhouse-server/{config,users}.xml</c> that are copied and edited here (<c>apt-get install -y clickhouse-server</c>).
/// A missing binary is an error, never a skipped test. Besides <c>default</c> (no password) the server has a user
/// <see cref="User"/> with <see cref="Password"/>, for tests of credentials.</remarks>
public sealed class ClickHouseServerProcess : ServerProcess
{
    /// <summary>A user the fixture adds to users.xml, with <see cref="Password"/>.</summary>
    public const string User = "breadboard";

    /// <summary>The password of <see cref="User"/>.</summary>
    public const string Password = "breadboard-test-password";

    /// <summary>The cluster name of the server's one-node cluster in <c>remote_servers</c>.</summary>
    public const string Cluster = "breadboard_self";

    private const string ConfigDirectory = "/etc/clickhouse-server";

    private const string ErrorLog = "clickhouse-server.err.log";

    private readonly HttpClient _ping = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly Lock _scan = new();

    /// <summary>Where this run of the server began writing the error log (it is kept across restarts), and how far
    /// <see cref="LoggedFailure"/> has read it.</summary>
    private long _runStart;
    private long _scanned;
    private string? _failure;

    private ClickHouseServerProcess(string binary, int httpPort, int tcpPort, string directory, ClickHouseReplicaOpts? replica)
        : base(binary, directory)
    {
        HttpPort = httpPort;
        TcpPort = tcpPort;
        Replica = replica;
    }

    public int HttpPort { get; }

    /// <summary>The native-protocol port (unused by Breadboard, but it must not clash with anything).</summary>
    public int TcpPort { get; }

    /// <summary>What makes this server a replica of a cluster; null for a standalone server.</summary>
    public ClickHouseReplicaOpts? Replica { get; }

    /// <summary><c>http://127.0.0.1:PORT</c>.</summary>
    public string Url => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{HttpPort}");

    /// <summary>What the server printed and logged so far (for failure messages).</summary>
    public override string Output => base.Output + ReadLog(ErrorLog) + ReadLog("clickhouse-server.log");

    protected override IEnumerable<string> Arguments => ["--config-file=" + Path.Combine(WorkDirectory, "config.xml")];

    /// <summary>Starts a server and waits until <c>/ping</c> answers.</summary>
    public static Task<ClickHouseServerProcess> StartAsync(CancellationToken cancellationToken = default) =>
        StartAsync(FreePort(), FreePort(), null, cancellationToken);

    /// <summary>Starts one replica of a replicated cluster on the ports <paramref name="replica"/> names and waits
    /// until <c>/ping</c> answers (not until its ZooKeeper session is up).</summary>
    public static Task<ClickHouseServerProcess> StartReplicaAsync(ClickHouseReplicaOpts replica, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(replica);
        return StartAsync(replica.HttpPort, replica.TcpPort, replica, cancellationToken);
    }

    private static async Task<ClickHouseServerProcess> StartAsync(int httpPort, int tcpPort, ClickHouseReplicaOpts? replica, CancellationToken cancellationToken)
    {
        var binary = FindBinary(["/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server", "/usr/local/bin/clickhouse-server"], "clickhouse-server");
        var directory = Directory.CreateTempSubdirectory("breadboard-clickhouse-").FullName;
        var server = new ClickHouseServerProcess(binary, httpPort, tcpPort, directory, replica);
        return await LaunchAsync(server, s => s.WriteConfig(), cancellationToken);
    }

    private void WriteConfig()
    {
        var config = XDocument.Load(Path.Combine(ConfigDirectory, "config.xml"));
        var root = config.Root!;
        SetIfPresent(root.Element("path"), Sub("data"));
        SetIfPresent(root.Element("tmp_path"), Sub("tmp"));
        SetIfPresent(root.Element("user_files_path"), Sub("user_files"));
        SetIfPresent(root.Element("format_schema_path"), Sub("format_schemas"));
        var logger = root.Element("logger");
        SetIfPresent(logger?.Element("log"), Path.Combine(WorkDirectory, "log", "clickhouse-server.log"));
        SetIfPresent(logger?.Element("errorlog"), Path.Combine(WorkDirectory, "log", "clickhouse-server.err.log"));
        root.SetElementValue("http_port", HttpPort.ToString(CultureInfo.InvariantCulture));
        root.SetElementValue("tcp_port", TcpPort.ToString(CultureInfo.InvariantCulture));

        // Ports nothing here uses would clash between parallel servers (9009, 9004, 8443, ...): drop them.
        foreach (var name in new[] { "interserver_http_port", "mysql_port", "postgresql_port", "https_port", "tcp_port_secure", "interserver_https_port", "grpc_port" })
        {
            root.Elements(name).Remove();
        }

        // A one-shard, one-replica cluster of this server itself, for Distributed tables (a standalone server has
        // no ZooKeeper, so no ON CLUSTER DDL or Replicated tables).
        var remote = root.Element("remote_servers") ?? new XElement("remote_servers");
        remote.Elements(Cluster).Remove();
        remote.Add(new XElement(Cluster, new XElement("shard", new XElement("replica", new XElement("host", "127.0.0.1"), new XElement("port", TcpPort)))));
        if (remote.Parent is null)
        {
            root.Add(remote);
        }

        if (Replica is not null)
        {
            AddReplication(root, Replica);
        }

        // The stock file listens on ::1 too; only IPv4 loopback, so a server never collides on the other family.
        root.Elements("listen_host").Remove();
        root.Add(new XElement("listen_host", "127.0.0.1"));
        config.Save(Path.Combine(WorkDirectory, "config.xml"));

        var users = XDocument.Load(Path.Combine(ConfigDirectory, "users.xml"));
        var usersElement = users.Root!.Element("users")!;
        var user = new XElement(usersElement.Element("default")!) { Name = User };
        user.SetElementValue("password", Password);
        usersElement.Elements(User).Remove();
        usersElement.Add(user);
        users.Save(Path.Combine(WorkDirectory, "users.xml"));

        string Sub(string name) => Path.Combine(WorkDirectory, name) + "/";
    }

    /// <summary>The interserver port replicas fetch parts through, ZooKeeper, the macros the table paths use, and the
    /// cluster of every replica of the shard that <c>ON CLUSTER</c> DDL runs on.</summary>
    private static void AddReplication(XElement root, ClickHouseReplicaOpts replica)
    {
        root.SetElementValue("interserver_http_port", replica.InterserverHttpPort.ToString(CultureInfo.InvariantCulture));

        // Else the replica announces `hostname -f`, which its peers may not resolve to this loopback server.
        root.SetElementValue("interserver_http_host", "127.0.0.1");

        // The stock file has <zookeeper incl="zookeeper-servers" optional="true"/> and the same for macros: replace both.
        root.Elements("zookeeper").Remove();
        root.Add(new XElement(
            "zookeeper",
            new XElement("node", new XElement("host", "127.0.0.1"), new XElement("port", replica.ZooKeeperPort)),
            new XElement("session_timeout_ms", (long)replica.ZooKeeperSessionTimeout.TotalMilliseconds)));
        root.Elements("macros").Remove();
        root.Add(new XElement("macros", new XElement("shard", replica.Shard), new XElement("replica", replica.Replica)));

        // A server finds itself in the cluster by host and tcp_port: all replicas are 127.0.0.1, so the ports tell them apart.
        var remote = root.Element("remote_servers")!;
        remote.Elements(replica.Cluster).Remove();
        remote.Add(new XElement(
            replica.Cluster,
            new XElement(
                "shard",
                new XElement("internal_replication", "true"),
                replica.ClusterTcpPorts.Select(port => new XElement("replica", new XElement("host", "127.0.0.1"), new XElement("port", port))))));
    }

    /// <summary>
    /// What broke this run of the server though it may still answer <c>/ping</c>, from its error log: a fatal signal,
    /// or (on a replica) a distributed DDL worker that terminated; null when the log shows neither.
    /// </summary>
    /// <remarks>An 18.16 DDL worker ends its thread on any ZooKeeper error it does not count as a lost connection,
    /// such as the <c>Node exists, path: …/executed</c> a replica gets when it runs an <c>ALTER … ON CLUSTER</c> of a
    /// replicated table that another replica ran a moment before (it checks for that before taking the shard's lock,
    /// not after). The server keeps running, but from then on every <c>ON CLUSTER</c> query waits for it in vain
    /// (<c>distributed_ddl_task_timeout</c>, 180 s). Reads only what was written since the last call.</remarks>
    public string? LoggedFailure()
    {
        lock (_scan)
        {
            if (_failure is not null)
            {
                return _failure;
            }

            var path = Path.Combine(WorkDirectory, "log", ErrorLog);
            try
            {
                using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                file.Seek(_scanned, SeekOrigin.Begin);
                using var reader = new StreamReader(file);
                var text = reader.ReadToEnd();

                // Only whole lines: the rest is read next time.
                var end = text.LastIndexOf('\n') + 1;
                _scanned += reader.CurrentEncoding.GetByteCount(text.AsSpan(0, end));
                foreach (var line in text[..end].Split('\n'))
                {
                    if (line.Contains("Received signal", StringComparison.Ordinal)
                        || (line.Contains("DDLWorker", StringComparison.Ordinal)
                            && (line.Contains("Unexpected ZooKeeper error", StringComparison.Ordinal)
                                || line.Contains("Unexpected error", StringComparison.Ordinal)
                                || line.Contains("Cannot initialize DDL queue", StringComparison.Ordinal))))
                    {
                        _failure = Shorten(line);
                        return _failure;
                    }
                }
            }
            catch (IOException)
            {
                // No log yet, or not readable now: the next call reads it.
            }

            return null;
        }
    }

    /// <summary>The lines of this run's error log about a fatal signal: the signal and the first frames of the stack
    /// trace 18.16 logs; empty when there are none.</summary>
    public string CrashReport()
    {
        var lines = RunErrorLog().Split('\n');
        var at = Array.FindIndex(lines, line => line.Contains("Received signal", StringComparison.Ordinal));
        return at < 0 ? "" : string.Join(Environment.NewLine, lines.Skip(at).Take(10).Select(Shorten));
    }

    /// <summary>The last <paramref name="count"/> lines of the error log (every run), for failure messages.</summary>
    public string ErrorLogTail(int count)
    {
        var lines = ReadLog(ErrorLog).Split('\n');
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - count)));
    }

    protected override void OnStarting()
    {
        lock (_scan)
        {
            var path = Path.Combine(WorkDirectory, "log", ErrorLog);
            _runStart = File.Exists(path) ? new FileInfo(path).Length : 0;
            _scanned = _runStart;
            _failure = null;
        }
    }

    private string RunErrorLog()
    {
        try
        {
            using var file = new FileStream(Path.Combine(WorkDirectory, "log", ErrorLog), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            file.Seek(Math.Min(_runStart, file.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(file);
            return reader.ReadToEnd();
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static string Shorten(string line) => line.Length <= 400 ? line.TrimEnd() : line[..400] + "…";

    private static void SetIfPresent(XElement? element, string value)
    {
        if (element is not null)
        {
            element.Value = value;
        }
    }

    protected override void ReleaseResources() => _ping.Dispose();

    /// <summary>Ready once <c>/ping</c> answers "Ok.".</summary>
    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await _ping.GetStringAsync(new Uri(Url + "/ping"), cancellationToken)).StartsWith("Ok.", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false; // not listening yet
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // the 2 s request timeout: still starting
        }
    }

    private string ReadLog(string name)
    {
        var path = Path.Combine(WorkDirectory, "log", name);
        try
        {
            return File.Exists(path) ? $"{Environment.NewLine}--- {name} ---{Environment.NewLine}{File.ReadAllText(path)}" : "";
        }
        catch (IOException)
        {
            return "";
        }
    }
}
