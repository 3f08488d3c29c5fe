using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;

namespace Breadboard.TestKit.ClickHouse;

/// <summary>
/// A real <c>clickhouse-server</c> on free loopback ports, with its config, data and logs in its own temporary
/// directory; it can be killed (SIGKILL) and started again on the same ports and data to test survival.
/// </summary>
/// <remarks>Debian's <c>clickhouse-server</c> package (18.16) provides the binary and the stock
/// <c>/etc/clickhouse-server/{config,users}.xml</c> that are copied and edited here (<c>apt-get install -y clickhouse-server</c>).
/// A missing binary is an error, never a skipped test. Besides <c>default</c> (no password) the server has a user
/// <see cref="User"/> with <see cref="Password"/>, for tests of credentials.</remarks>
public sealed class ClickHouseServerProcess : IAsyncDisposable
{
    /// <summary>A user the fixture adds to users.xml, with <see cref="Password"/>.</summary>
    public const string User = "breadboard";

    /// <summary>The password of <see cref="User"/>.</summary>
    public const string Password = "breadboard-test-password";

    private const string ConfigDirectory = "/etc/clickhouse-server";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly string[] Binaries = ["/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server", "/usr/local/bin/clickhouse-server"];

    private readonly string _binary;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private ClickHouseServerProcess(string binary, int httpPort, int tcpPort, string directory)
    {
        _binary = binary;
        HttpPort = httpPort;
        TcpPort = tcpPort;
        WorkDirectory = directory;
    }

    public int HttpPort { get; }

    /// <summary>The native-protocol port (unused by Breadboard, but it must not clash with anything).</summary>
    public int TcpPort { get; }

    /// <summary>The temporary directory with config.xml, users.xml, data/ and log/; kept across restarts.</summary>
    public string WorkDirectory { get; }

    /// <summary><c>http://127.0.0.1:PORT</c>.</summary>
    public string Url => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{HttpPort}");

    /// <summary>What the server printed and logged so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            string printed;
            lock (_output)
            {
                printed = _output.ToString();
            }

            return printed + ReadLog("clickhouse-server.err.log") + ReadLog("clickhouse-server.log");
        }
    }

    /// <summary>Starts a server and waits until <c>/ping</c> answers.</summary>
    public static async Task<ClickHouseServerProcess> StartAsync(CancellationToken cancellationToken = default)
    {
        var binary = Binaries.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("clickhouse-server is not installed (/usr/sbin/clickhouse-server): apt-get install -y clickhouse-server");
        var directory = Directory.CreateTempSubdirectory("breadboard-clickhouse-").FullName;
        var server = new ClickHouseServerProcess(binary, FreePort(), FreePort(), directory);
        try
        {
            server.WriteConfig();
            await server.StartProcessAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the server with SIGKILL: no shutdown, whatever reached the disk is what survives.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Starts the server again on the same ports and data directory.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => StartProcessAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open: temp space is reclaimed eventually.
        }
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

    private static void SetIfPresent(XElement? element, string value)
    {
        if (element is not null)
        {
            element.Value = value;
        }
    }

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(_binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = WorkDirectory,
        };
        info.ArgumentList.Add("--config-file=" + Path.Combine(WorkDirectory, "config.xml"));

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var ping = new Uri(Url + "/ping");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"clickhouse-server exited with {process.ExitCode}: {Output}");
            }

            try
            {
                var answer = await http.GetStringAsync(ping, cancellationToken);
                if (answer.StartsWith("Ok.", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The 2 s request timeout: still starting.
            }

            if (clock.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"clickhouse-server did not answer {ping} within {StartTimeout.TotalSeconds} s: {Output}");
            }

            await Task.Delay(50, cancellationToken);
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

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
