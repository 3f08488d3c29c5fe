using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Feeds.Synthetic;
using Breadboard.Web.Reports;

namespace Breadboard.Web.Tests.Reports;

/// <summary>
/// What a backtest hands the report: the engine (<see cref="WindowEngine"/>) run under config/indicators.yaml over
/// eight hours of three synthetic symbols, one of them named to break out of a script element; and the alerts of a
/// "running" pipeline on the same ticks, which differs from it in one rule (rsi_hot at 60 for 2 bars, not 70 for 3).
/// </summary>
public sealed class BacktestRun
{
    /// <summary>A symbol as hostile as stored data could make one.</summary>
    public const string Hostile = "</script><img src=x onerror=alert(1)>";

    public static readonly long Start = new DateTimeOffset(2026, 1, 2, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    public BacktestRun()
    {
        var yaml = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "config", "indicators.yaml"));
        Pipeline = PipelineLoader.Parse(yaml, "indicators.yaml");
        const string Rsi = "when: \"rsi14 > 70\", for: 3";
        Assert.Contains(Rsi, yaml, StringComparison.Ordinal);
        Running = PipelineLoader.Parse(yaml.Replace(Rsi, "when: \"rsi14 > 60\", for: 2", StringComparison.Ordinal), "running.yaml");
        (Bars, Alerts) = Run(Pipeline, Ticks());
        (_, Baseline) = Run(Running, Ticks());
        TickCount = Ticks().Count();
    }

    public PipelineDefinition Pipeline { get; }

    public PipelineDefinition Running { get; }

    public List<Bar> Bars { get; }

    public List<Alert> Alerts { get; }

    public List<Alert> Baseline { get; }

    public long TickCount { get; }

    public static IReadOnlyList<string> Symbols { get; } = ["AAPL", "BTC-USD", Hostile];

    /// <summary>Eight hours at two ticks a second in all; ETH-USD's ticks under the hostile name.</summary>
    public static IEnumerable<Tick> Ticks()
    {
        var options = SyntheticFeedOptions.Default with { Symbols = ["AAPL", "BTC-USD", "ETH-USD"], StartTime = Start, RatePerSecond = 2, Seed = 21 };
        return new SyntheticFeed(options).Generate(57_600).Select(t => t.Symbol == "ETH-USD" ? t with { Symbol = Hostile } : t);
    }

    /// <summary>The report's input for this run, titled after a file with a hostile name; with the running pipeline's alerts when <paramref name="compare"/>.</summary>
    public BacktestReportInput Input(bool compare = true) =>
        new($"backtest of </title>{Hostile}.yaml", Pipeline, Bars, Alerts, Start, Start + (8 * 3_600_000), compare ? Baseline : null, TickCount);

    /// <summary>Runs the engine over <paramref name="ticks"/>; what it emitted, in emission order.</summary>
    public static (List<Bar> Bars, List<Alert> Alerts) Run(PipelineDefinition pipeline, IEnumerable<Tick> ticks)
    {
        var output = new Collecting();
        var engine = new WindowEngine(pipeline, output);
        var position = 0L;
        foreach (var tick in ticks)
        {
            engine.Process(in tick, position++);
        }

        engine.CloseAll();
        return (output.Bars, output.Alerts);
    }

    private sealed class Collecting : IEngineOutput
    {
        public List<Bar> Bars { get; } = [];

        public List<Alert> Alerts { get; } = [];

        public void OnBar(Bar bar) => Bars.Add(bar);

        public void OnAlert(Alert alert) => Alerts.Add(alert);

        public void OnLate(in Tick tick, long watermark)
        {
        }

        public void OnTick(in Tick tick, long position)
        {
        }

        public void OnReject(in Tick tick, long position, string reason)
        {
        }
    }
}
