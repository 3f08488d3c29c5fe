using System.Globalization;
using System.Text.RegularExpressions;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using DuckDB.NET.Data;

namespace Breadboard.Flink.Tests;

/// <summary>
/// The compiled indicator views and alert queries, run in DuckDB over the bars the local engine made from random
/// in-order ticks, give the local engine's alerts: the same ids, values and thresholds, to the last bit.
/// </summary>
/// <remarks>
/// DuckDB reads the compiled SQL once backticks are double quotes: OVER windows with ROWS frames, ARRAY_AGG,
/// 1-based array indexes, LAG, COALESCE, NULLIF, SQRT, DOUBLE literals with exponents. What it cannot show is
/// Flink's own runtime: the event-time OVER operators, ARRAY_AGG's retraction and Java's doubles, which
/// docs/ENGINE.md argues from Flink's sources. The alert views' id column (UNIX_TIMESTAMP, DATE_FORMAT) is Flink's
/// and is not run here: the test builds the id from the symbol and window_start the query gives.
/// </remarks>
public class IndicatorSqlSemanticsTests
{
    private const long T0 = 1_767_364_200_000;
    private const long Minute = 60_000;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void CompiledRules_InDuckDb_GiveTheLocalEnginesAlerts(int seed)
    {
        var definition = IndicatorSqlTests.IndicatorPipeline();
        var (bars, alerts) = RunLocalEngine(definition, Ticks(new Random(seed)));
        var statements = FlinkSqlCompiler.CompileStatements(definition, new FlinkOptions { BootstrapServers = "kafka:9092" });

        using var duck = new DuckDBConnection("Data Source=:memory:");
        duck.Open();
        Load(duck, bars);
        foreach (var view in statements.Where(s => s.StartsWith("CREATE TEMPORARY VIEW indicators_", StringComparison.Ordinal)))
        {
            Execute(duck, view);
        }

        var compiled = new Dictionary<string, (double Value, double Threshold)>();
        for (var i = 0; i < definition.Rules.Count; i++)
        {
            var rule = definition.Rules[i];
            var view = statements.Single(s => s.StartsWith($"CREATE TEMPORARY VIEW alerts_{i} AS\n", StringComparison.Ordinal));
            foreach (var (symbol, start, value, threshold) in Query(duck, AlertQuery(view)))
            {
                Assert.True(compiled.TryAdd(Alert.MakeId(rule.Name, symbol, rule.Window, start), (value, threshold)), $"rule '{rule.Name}' fired twice on one bar");
            }
        }

        var local = alerts.ToDictionary(a => a.Id, a => (a.Value, a.Threshold));
        Assert.All(definition.Rules, r => Assert.True(alerts.Any(a => a.Rule == r.Name), $"rule '{r.Name}' never fired locally: the test would prove nothing about it"));
        var onlyLocal = local.Keys.Except(compiled.Keys).Order(StringComparer.Ordinal).ToList();
        var onlyCompiled = compiled.Keys.Except(local.Keys).Order(StringComparer.Ordinal).ToList();
        Assert.True(onlyLocal.Count == 0 && onlyCompiled.Count == 0, $"only local: {string.Join(", ", onlyLocal.Take(5))}; only compiled: {string.Join(", ", onlyCompiled.Take(5))} ({Describe(bars, onlyLocal.Concat(onlyCompiled).Take(3))})");
        foreach (var (id, (value, threshold)) in local)
        {
            // Equals: NaN (undefined, NULL in SQL) equals NaN; otherwise the very same double.
            Assert.True(value.Equals(compiled[id].Value), $"{id}: value {value:R} locally, {compiled[id].Value:R} compiled");
            Assert.True(threshold.Equals(compiled[id].Threshold), $"{id}: threshold {threshold:R} locally, {compiled[id].Threshold:R} compiled");
        }
    }

    private static string Describe(List<Bar> bars, IEnumerable<string> ids) =>
        string.Join("; ", ids.Select(id => bars.First(b => id.EndsWith($":{b.Symbol}:{b.Window}:{b.WindowStart}", StringComparison.Ordinal))));

    /// <summary>
    /// Random in-order ticks: symbols with a random-walk price of many digits, minutes without trades (no bar),
    /// minutes whose every volume is 0 (vwap undefined), and FLAT, whose one tick a minute of volume 1 makes every
    /// volume deviation 0 (zscore undefined).
    /// </summary>
    private static List<Tick> Ticks(Random random)
    {
        var ticks = new List<Tick>();
        string[] symbols = ["AAA", "BBB", "CCC", "FLAT"];
        var prices = symbols.Select(_ => 50 + (random.NextDouble() * 100)).ToArray();
        for (var minute = 0; minute < 400; minute++)
        {
            for (var s = 0; s < symbols.Length; s++)
            {
                var flat = symbols[s] == "FLAT";
                if (!flat && random.NextDouble() < 0.15)
                {
                    continue;
                }

                var count = flat ? 1 : random.Next(1, 5);
                var silent = !flat && random.NextDouble() < 0.08;
                var seconds = Enumerable.Range(0, count).Select(_ => random.Next(0, 60_000)).Order().ToList();
                foreach (var ms in seconds)
                {
                    prices[s] *= Math.Exp((random.NextDouble() - 0.5) * 0.01);
                    double[] volumes = [0, 0.5, 1, 2, 3];
                    var volume = flat ? 1 : silent ? 0 : volumes[random.Next(volumes.Length)];
                    ticks.Add(new Tick(symbols[s], T0 + (minute * Minute) + ms, prices[s], volume, TradeId.None, null, AssetClass.Stock));
                }
            }
        }

        return [.. ticks.OrderBy(t => t.Ts)];
    }

    private static (List<Bar> Bars, List<Alert> Alerts) RunLocalEngine(PipelineDefinition definition, List<Tick> ticks)
    {
        var output = new Output();
        var engine = new WindowEngine(definition, output);
        foreach (var tick in ticks)
        {
            Assert.Equal(TickOutcome.Accepted, engine.Process(tick));
        }

        engine.CloseAll();
        return (output.Bars, output.Alerts);
    }

    private static void Load(DuckDBConnection duck, List<Bar> bars)
    {
        // Flink's bars view, with times as epoch ms: the compiled SQL only orders by window_time and passes the rest on.
        Execute(duck, """
            CREATE TABLE bars_0 (symbol VARCHAR, window_start BIGINT, window_end BIGINT, window_time BIGINT,
              open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, vwap DOUBLE, trades BIGINT)
            """);
        using var appender = duck.CreateAppender("bars_0");
        foreach (var bar in bars)
        {
            appender.CreateRow()
                .AppendValue(bar.Symbol)
                .AppendValue(bar.WindowStart)
                .AppendValue(bar.WindowEnd)
                .AppendValue(bar.WindowEnd - 1)
                .AppendValue(bar.Open)
                .AppendValue(bar.High)
                .AppendValue(bar.Low)
                .AppendValue(bar.Close)
                .AppendValue(bar.Volume)
                .AppendValue(bar.Vwap)
                .AppendValue(bar.Trades)
                .EndRow();
        }
    }

    /// <summary>An alerts view's query with its own select list in place of the one with Flink's id and rule columns.</summary>
    private static string AlertQuery(string view)
    {
        var threshold = Regex.Match(view, @"^  `symbol`, `window_start`, `window_end`, `value`, (.*) AS `threshold`$", RegexOptions.Multiline);
        Assert.True(threshold.Success, view);
        var from = view.IndexOf("\nFROM (\n", StringComparison.Ordinal);
        return $"SELECT `symbol`, `window_start`, `value`, {threshold.Groups[1].Value} AS `threshold`{view[from..]}";
    }

    private static List<(string Symbol, long Start, double Value, double Threshold)> Query(DuckDBConnection duck, string sql)
    {
        using var command = duck.CreateCommand();
        command.CommandText = Duck(sql);
        using var reader = command.ExecuteReader();
        var rows = new List<(string, long, double, double)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? double.NaN : reader.GetDouble(2), reader.IsDBNull(3) ? double.NaN : reader.GetDouble(3)));
        }

        return rows;
    }

    private static void Execute(DuckDBConnection duck, string sql)
    {
        using var command = duck.CreateCommand();
        command.CommandText = Duck(sql);
        command.ExecuteNonQuery();
    }

    /// <summary>Flink's quoted names in DuckDB's quotes; nothing else in the compiled views and rules needs translating.</summary>
    private static string Duck(string sql) => sql.Replace('`', '"');

    private sealed class Output : IEngineOutput
    {
        public List<Bar> Bars { get; } = [];

        public List<Alert> Alerts { get; } = [];

        public void OnBar(Bar bar) => Bars.Add(bar);

        public void OnAlert(Alert alert) => Alerts.Add(alert);

        public void OnLate(in Tick tick, long watermark) => throw new InvalidOperationException($"late tick at {tick.Ts.ToString(CultureInfo.InvariantCulture)}");

        public void OnTick(in Tick tick, long position)
        {
        }

        public void OnReject(in Tick tick, long position, string reason) => throw new InvalidOperationException(reason);
    }
}
