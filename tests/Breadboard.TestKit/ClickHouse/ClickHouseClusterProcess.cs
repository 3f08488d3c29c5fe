using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Breadboard.TestKit.ZooKeeper;

namespace Breadboard.TestKit.ClickHouse;

/// <summary>
/// A real replicated ClickHouse cluster on loopback: a standalone ZooKeeper and three <c>clickhouse-server</c>
/// replicas of one shard (<c>{shard}</c> = <see cref="Shard"/>, <c>{replica}</c> = <c>r1</c>..<c>r3</c>), each on
/// its own free ports and in its own temporary directory, listed as the cluster <see cref="Cluster"/> for
/// <c>ON CLUSTER</c> DDL. Replicas and ZooKeeper can be killed and started again on the same ports and data.
/// </summary>
/// <remarks>
/// <para>Needs Debian's <c>clickhouse-server</c> (18.16) and <c>zookeeper</c> (3.8); a missing one is an error. A
/// replica killed with SIGKILL leaves its ZooKeeper session, and so its <c>is_active</c> node, behind: restarted, it
/// stays read-only until that session expires (<see cref="ClickHouseReplicaOpts.ZooKeeperSessionTimeout"/>) and its
/// next activation attempt succeeds (18.16 retries every 10 s). <c>ON CLUSTER</c> DDL waits for every replica, so
/// run it only while all of them are up. The replicas start only once ZooKeeper serves sessions
/// (<see cref="ZooKeeperProcess"/>).</para>
/// <para>An 18.16 server's distributed DDL worker breaks in ways the server survives, so the cluster is only ready
/// once it takes DDL (<see cref="WaitUntilTakesDdlAsync"/>): after the start and after every restart of ZooKeeper or
/// a replica. After ZooKeeper's loss a replica renews the worker's session only every 5 s, and until then its
/// <c>ON CLUSTER</c> queries fail with "Session expired"; and a worker that ends its thread on a ZooKeeper error
/// (see <see cref="ClickHouseServerProcess.LoggedFailure"/>) leaves every later <c>ON CLUSTER</c> query waiting
/// for that replica. A watchdog restarts (by pid, on the same ports and data) a replica whose worker ended or that
/// crashed while no test had stopped it, at most <see cref="MaxWatchdogRestarts"/> times; every restart is reported
/// with its reason from the server's log.</para>
/// </remarks>
public sealed partial class ClickHouseClusterProcess : IAsyncDisposable
{
    /// <summary>The cluster's name in every replica's <c>remote_servers</c>.</summary>
    public const string Cluster = "breadboard_replicated";

    /// <summary>The <c>{shard}</c> macro of every replica.</summary>
    public const string Shard = "01";

    /// <summary>How many broken replicas the watchdog restarts in the cluster's life before it leaves them to fail the tests.</summary>
    public const int MaxWatchdogRestarts = 6;

    /// <summary>How many rounds of restarts <see cref="WaitUntilTakesDdlAsync"/> tries before it gives up.</summary>
    private const int MaxRestartRounds = 3;

    private const int KeeperException = 999;
    private const int NoZooKeeper = 225;

    // A probe's DDL task that a replica has not run by then marks that replica as stuck (the server waits 180 s).
    private static readonly TimeSpan DdlTaskTimeout = TimeSpan.FromSeconds(20);

    // How long a replica may take to renew its ZooKeeper sessions (the DDL worker's: up to 5 s, more under load).
    private static readonly TimeSpan SessionWait = TimeSpan.FromSeconds(40);

    // SIGTERM closes the replica's ZooKeeper session, so it takes writes again as soon as it is back.
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    private readonly ClickHouseServerProcess?[] _replicas;

    /// <summary>Replicas a test has killed and not yet restarted: neither the checks nor the watchdog touch them.</summary>
    private readonly bool[] _down;

    /// <summary>One start, kill or restart of a process at a time, whoever asks for it.</summary>
    private readonly SemaphoreSlim _gate = new(1, 1);

    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly Action<string> _log;
    private readonly List<string> _restarts = [];
    private readonly CancellationTokenSource _stopping = new();
    private bool _zooKeeperDown;
    private int _watchdogRestarts;
    private Task _watchdog = Task.CompletedTask;

    private ClickHouseClusterProcess(ZooKeeperProcess zooKeeper, int replicas, Action<string>? log)
    {
        ZooKeeper = zooKeeper;
        _replicas = new ClickHouseServerProcess?[replicas];
        _down = new bool[replicas];
        _log = log ?? (_ => { });
    }

    public ZooKeeperProcess ZooKeeper { get; }

    /// <summary>The replicas, in the order of the cluster (<c>r1</c> first).</summary>
    public IReadOnlyList<ClickHouseServerProcess> Replicas => _replicas.Select(r => r ?? throw new InvalidOperationException("The cluster has not started.")).ToList();

    /// <summary>How long ZooKeeper took to serve clients, from the start.</summary>
    public TimeSpan ZooKeeperReadyAfter { get; private set; }

    /// <summary>How long until every replica answered <c>/ping</c>, from the start (ZooKeeper's time included).</summary>
    public TimeSpan ReplicasReadyAfter { get; private set; }

    /// <summary>How long until the cluster took distributed DDL, from the start (everything before included).</summary>
    public TimeSpan DdlReadyAfter { get; private set; }

    /// <summary>Every restart of a broken replica so far, each with its reason.</summary>
    public IReadOnlyList<string> Restarts
    {
        get
        {
            lock (_restarts)
            {
                return [.. _restarts];
            }
        }
    }

    /// <summary>Starts ZooKeeper, then the replicas in parallel once it serves clients, waits until each answers
    /// <c>/ping</c> and the cluster takes distributed DDL (<see cref="WaitUntilTakesDdlAsync"/>), and starts the
    /// watchdog.</summary>
    /// <param name="replicas">How many replicas the one shard has.</param>
    /// <param name="log">Where restarts of broken replicas are reported, with their reasons.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<ClickHouseClusterProcess> StartAsync(int replicas = 3, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        var clock = Stopwatch.StartNew();
        var zooKeeper = await ZooKeeperProcess.StartAsync(cancellationToken);
        var cluster = new ClickHouseClusterProcess(zooKeeper, replicas, log) { ZooKeeperReadyAfter = clock.Elapsed };
        try
        {
            var ports = Enumerable.Range(0, replicas).Select(_ => (Http: ServerProcess.FreePort(), Tcp: ServerProcess.FreePort(), Interserver: ServerProcess.FreePort())).ToList();
            var tcpPorts = ports.Select(p => p.Tcp).ToList();
            await Task.WhenAll(Enumerable.Range(0, replicas).Select(async i =>
            {
                var opts = new ClickHouseReplicaOpts
                {
                    HttpPort = ports[i].Http,
                    TcpPort = ports[i].Tcp,
                    InterserverHttpPort = ports[i].Interserver,
                    ZooKeeperPort = zooKeeper.Port,
                    Cluster = Cluster,
                    Shard = Shard,
                    Replica = $"r{i + 1}",
                    ClusterTcpPorts = tcpPorts,
                };
                cluster._replicas[i] = await ClickHouseServerProcess.StartReplicaAsync(opts, cancellationToken);
            }));
            cluster.ReplicasReadyAfter = clock.Elapsed;
            await cluster.WaitUntilTakesDdlAsync(cancellationToken);
            cluster.DdlReadyAfter = clock.Elapsed;
            cluster._watchdog = Task.Run(cluster.WatchAsync, CancellationToken.None);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary><c>http://127.0.0.1:PORT</c> of replica <paramref name="replica"/> (0-based: 0 is <c>r1</c>).</summary>
    public string Url(int replica) => Replica(replica).Url;

    /// <summary>Kills replica <paramref name="replica"/> with SIGKILL (0-based); its ZooKeeper session lives on until it expires.</summary>
    public async Task KillReplicaAsync(int replica)
    {
        var server = Replica(replica);
        await _gate.WaitAsync();
        try
        {
            _down[replica] = true;
            await server.KillAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Starts replica <paramref name="replica"/> again on the same ports and data, and returns once it answers
    /// <c>/ping</c> and the cluster takes DDL (its replicated tables may still be read-only: see the remarks on the class).</summary>
    public async Task RestartReplicaAsync(int replica, CancellationToken cancellationToken = default)
    {
        var server = Replica(replica);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await server.RestartAsync(cancellationToken);
            _down[replica] = false;
        }
        finally
        {
            _gate.Release();
        }

        await WaitUntilTakesDdlAsync(cancellationToken);
    }

    /// <summary>Kills ZooKeeper with SIGKILL: replicated tables turn read-only on every replica.</summary>
    public async Task KillZooKeeperAsync()
    {
        await _gate.WaitAsync();
        try
        {
            _zooKeeperDown = true;
            await ZooKeeper.KillAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Starts ZooKeeper again on the same port and data, and returns once it serves clients and every replica
    /// has a session again and takes DDL (<see cref="WaitUntilTakesDdlAsync"/>).</summary>
    public async Task RestartZooKeeperAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await ZooKeeper.RestartAsync(cancellationToken);
            _zooKeeperDown = false;
        }
        finally
        {
            _gate.Release();
        }

        await WaitUntilTakesDdlAsync(cancellationToken);
    }

    /// <summary>
    /// Returns once every running replica has a ZooKeeper session and, when no replica is down, each of them has run
    /// an <c>ON CLUSTER</c> round trip (<c>CREATE DATABASE</c> from each replica, then <c>DROP DATABASE</c>). A replica
    /// that crashed, lost its DDL worker, has no session within 40 s or leaves a probe's task undone for 20 s is
    /// restarted and the check repeated, at most three rounds; then it throws with the servers' logs.
    /// </summary>
    public async Task WaitUntilTakesDdlAsync(CancellationToken cancellationToken = default)
    {
        var reasons = new List<string>();
        for (var round = 0; ; round++)
        {
            var broken = await FindBrokenReplicasAsync(cancellationToken);
            if (broken.Count == 0)
            {
                return;
            }

            reasons.AddRange(broken.Select(b => $"r{b.Replica + 1}: {b.Reason}"));
            if (round == MaxRestartRounds)
            {
                throw new InvalidOperationException(
                    $"The replicated ClickHouse cluster does not take distributed DDL after {MaxRestartRounds} rounds of restarts:{Environment.NewLine}"
                    + string.Join(Environment.NewLine, reasons) + Logs());
            }

            foreach (var (replica, reason) in broken)
            {
                await RestartBrokenAsync(replica, _ => reason, cancellationToken);
            }
        }
    }

    /// <summary>Stops the watchdog and every process by its pid, and deletes every temporary directory.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _watchdog;
        await Task.WhenAll(_replicas.OfType<ClickHouseServerProcess>().Select(r => r.DisposeAsync().AsTask()));
        await ZooKeeper.DisposeAsync();
        _http.Dispose();
        _gate.Dispose();
        _stopping.Dispose();
    }

    private ClickHouseServerProcess Replica(int replica)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(replica);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(replica, _replicas.Length);
        return _replicas[replica] ?? throw new InvalidOperationException("The cluster has not started.");
    }

    /// <summary>Why a replica is broken by what its process and log show: it crashed, or its DDL worker ended.</summary>
    private static string? ProcessFailure(ClickHouseServerProcess server)
    {
        if (server.HasExited)
        {
            var crash = server.CrashReport();
            return $"exited with {server.ExitCode}" + (crash.Length > 0 ? $":{Environment.NewLine}{crash}" : " (no fatal signal in its log)");
        }

        return server.LoggedFailure() is { } failure ? "its log says: " + failure : null;
    }

    private async Task<List<(int Replica, string Reason)>> FindBrokenReplicasAsync(CancellationToken cancellationToken)
    {
        if (!_zooKeeperDown && ZooKeeper.HasExited)
        {
            throw new InvalidOperationException($"ZooKeeper exited with {ZooKeeper.ExitCode}:{Environment.NewLine}{Tail(ZooKeeper.Output, 80)}");
        }

        var running = Enumerable.Range(0, _replicas.Length).Where(i => !_down[i]).ToList();
        var broken = running.Select(i => (Replica: i, Reason: ProcessFailure(Replica(i)))).Where(b => b.Reason is not null).Select(b => (b.Replica, b.Reason!)).ToList();
        if (broken.Count > 0 || _zooKeeperDown)
        {
            return broken;
        }

        // Each replica's own session (the query renews an expired one), before any DDL.
        var sessions = await Task.WhenAll(running.Select(i => WaitForSessionAsync(i, cancellationToken)));
        broken = running.Zip(sessions).Where(s => s.Second is not null).Select(s => (s.First, s.Second!)).ToList();
        if (broken.Count > 0 || running.Count < _replicas.Length)
        {
            return broken;
        }

        // From each replica, since each one's DDL worker enqueues the tasks it initiates with its own session.
        var probe = $"breadboard_ddl_probe_{Guid.NewGuid():N}";
        foreach (var initiator in running)
        {
            var database = $"{probe}_r{initiator + 1}";
            if (await DdlAsync(initiator, $"CREATE DATABASE IF NOT EXISTS {database} ON CLUSTER {Cluster}", cancellationToken) is { } createError)
            {
                return await BlameAsync(initiator, database, true, createError, cancellationToken);
            }

            if (await DdlAsync(initiator, $"DROP DATABASE IF EXISTS {database} ON CLUSTER {Cluster}", cancellationToken) is { } dropError)
            {
                return await BlameAsync(initiator, database, false, dropError, cancellationToken);
            }
        }

        return [];
    }

    /// <summary>Null once replica <paramref name="replica"/> reads ZooKeeper's root, else the last error after <see cref="SessionWait"/>.</summary>
    private async Task<string?> WaitForSessionAsync(int replica, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var (ok, text) = await QueryAsync(replica, "SELECT count() FROM system.zookeeper WHERE path = '/'", TimeSpan.FromSeconds(10), cancellationToken);
            if (ok)
            {
                return null;
            }

            if (clock.Elapsed > SessionWait)
            {
                return $"no ZooKeeper session after {SessionWait.TotalSeconds:0} s: {Shorten(text)}";
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>Runs one DDL query from <paramref name="initiator"/>; null when it succeeded on every replica, else the
    /// error. "Session expired" and "no ZooKeeper" are retried for <see cref="SessionWait"/>: the initiator's DDL
    /// worker renews its session on its own, every 5 s.</summary>
    private async Task<string?> DdlAsync(int initiator, string sql, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var (ok, text) = await QueryAsync(initiator, sql, DdlTaskTimeout + TimeSpan.FromSeconds(10), cancellationToken);
            if (ok)
            {
                return null;
            }

            var code = ErrorCode().Match(text) is { Success: true } match ? int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture) : 0;
            if (code is not (KeeperException or NoZooKeeper) || clock.Elapsed > SessionWait)
            {
                return $"{sql} from r{initiator + 1}: {Shorten(text)}";
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>The replicas to restart after a failed probe: those that crashed or lost their DDL worker meanwhile,
    /// else those where the probe's database is not as the task left it (their worker did not run it), else the
    /// initiator (it did not enqueue the task, or did not see it done).</summary>
    private async Task<List<(int Replica, string Reason)>> BlameAsync(int initiator, string database, bool created, string error, CancellationToken cancellationToken)
    {
        var broken = new List<(int, string)>();
        var undone = new List<(int, string)>();
        for (var i = 0; i < _replicas.Length; i++)
        {
            if (ProcessFailure(Replica(i)) is { } failure)
            {
                broken.Add((i, failure));
                continue;
            }

            var (ok, text) = await QueryAsync(i, $"SELECT count() FROM system.databases WHERE name = '{database}'", TimeSpan.FromSeconds(10), cancellationToken);
            if (!ok)
            {
                broken.Add((i, $"does not answer ({Shorten(text)}) after {error}"));
            }
            else if (text != (created ? "1" : "0"))
            {
                undone.Add((i, $"its DDL worker did not run the task of {error}"));
            }
        }

        if (broken.Count == 0 && undone.Count < _replicas.Length)
        {
            broken = undone;
        }

        return broken.Count > 0 ? broken : [(initiator, error)];
    }

    /// <summary>Stops replica <paramref name="replica"/> (SIGTERM by its pid, SIGKILL if it hangs) and starts it again
    /// on the same ports and data, unless a test has stopped it or <paramref name="reason"/> no longer finds a fault.</summary>
    private async Task RestartBrokenAsync(int replica, Func<ClickHouseServerProcess, string?> reason, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var server = Replica(replica);
            if (_down[replica] || reason(server) is not { } why)
            {
                return;
            }

            var pid = server.ProcessId?.ToString(CultureInfo.InvariantCulture) ?? "gone";
            await server.StopAsync(StopTimeout);

            // A fatal signal's stack trace is complete once the process is gone.
            var crash = server.CrashReport();
            if (crash.Length > 0 && !why.Contains(crash, StringComparison.Ordinal))
            {
                why = why.Contains("Received signal", StringComparison.Ordinal) ? "its log says:" + Environment.NewLine + crash : why + Environment.NewLine + crash;
            }

            var line = string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:HH:mm:ss.fff} restarting replica r{replica + 1} (pid {pid}): {why}");
            lock (_restarts)
            {
                _restarts.Add(line);
            }

            _log(line);
            await server.RestartAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Every half second: restarts a replica that crashed or lost its DDL worker while a test was running,
    /// so that one 18.16 fault does not fail every later <c>ON CLUSTER</c> query.</summary>
    private async Task WatchAsync()
    {
        var stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(500, stopping);
                for (var i = 0; i < _replicas.Length && !_zooKeeperDown; i++)
                {
                    if (_down[i] || ProcessFailure(Replica(i)) is null)
                    {
                        continue;
                    }

                    if (_watchdogRestarts == MaxWatchdogRestarts)
                    {
                        _log($"the watchdog leaves replica r{i + 1} broken after {MaxWatchdogRestarts} restarts: {ProcessFailure(Replica(i))}");
                        return;
                    }

                    _watchdogRestarts++;
                    await RestartBrokenAsync(i, ProcessFailure, stopping);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
            {
                // The server did not come back: the next round may do better, else a check or a test reports it with the logs.
                _log($"the watchdog could not restart a replica: {Shorten(e.Message)}");
            }
        }
    }

    /// <summary>Runs one query over HTTP; whether it succeeded, and the answer or the error.</summary>
    private async Task<(bool Ok, string Text)> QueryAsync(int replica, string sql, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            // distributed_ddl_task_timeout: the server's own wait for the replicas, shorter than ours for its answer.
            var uri = new Uri(string.Create(CultureInfo.InvariantCulture, $"{Url(replica)}/?distributed_ddl_task_timeout={DdlTaskTimeout.TotalSeconds:0}"));
            using var content = new StringContent(sql, Encoding.UTF8);
            using var response = await _http.PostAsync(uri, content, timer.Token);
            var text = await response.Content.ReadAsStringAsync(timer.Token);
            return (response.IsSuccessStatusCode, text.Trim());
        }
        catch (HttpRequestException e)
        {
            return (false, e.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, $"no answer within {timeout.TotalSeconds:0} s");
        }
    }

    /// <summary>The end of every server's log, for a failure message.</summary>
    private string Logs()
    {
        var text = new StringBuilder();
        for (var i = 0; i < _replicas.Length; i++)
        {
            if (_replicas[i] is { } server)
            {
                text.Append(CultureInfo.InvariantCulture, $"{Environment.NewLine}=== replica r{i + 1} ({server.WorkDirectory}), clickhouse-server.err.log ===");
                text.Append(server.ErrorLogTail(60));
            }
        }

        text.Append(CultureInfo.InvariantCulture, $"{Environment.NewLine}=== ZooKeeper ({ZooKeeper.WorkDirectory}) ==={Environment.NewLine}{Tail(ZooKeeper.Output, 40)}");
        return text.ToString();
    }

    private static string Tail(string text, int lines)
    {
        var all = text.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    private static string Shorten(string text)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= 300 ? line : line[..300] + "…";
    }

    [GeneratedRegex(@"^Code: (\d+)")]
    private static partial Regex ErrorCode();
}
