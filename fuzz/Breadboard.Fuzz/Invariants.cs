using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Pipeline.Rules;
using Breadboard.Core.Pipeline.Windows;
using static Breadboard.Fuzz.FuzzTargets;

namespace Breadboard.Fuzz;

/// <summary>What every value a parser accepted must satisfy: cheap checks that turn logic bugs into crashes.</summary>
public static class Invariants
{
    /// <summary>What <see cref="string.ReplaceLineEndings()"/> takes for a line end.</summary>
    private static readonly System.Buffers.SearchValues<char> LineBreaks = System.Buffers.SearchValues.Create("\r\n\f\u0085\u2028\u2029");

    public static void Tick(in Tick tick, string who)
    {
        Require(!string.IsNullOrEmpty(tick.Symbol), $"{who}: a tick without a symbol");
        Require(double.IsFinite(tick.Price) && tick.Price is >= TickLimits.MinPrice and <= TickLimits.MaxPrice, $"{who}: a tick with price {tick.Price:R}");
        Require(tick.Volume == 0 || (double.IsFinite(tick.Volume) && tick.Volume is >= TickLimits.MinVolume and <= TickLimits.MaxVolume), $"{who}: a tick with volume {tick.Volume:R}");
        Require(tick.Price * tick.Volume <= TickLimits.MaxNotional, $"{who}: a tick with notional {tick.Price * tick.Volume:R}");
        Require(tick.Ts is >= EventTime.MinMs and <= EventTime.MaxMs, $"{who}: a tick with ts {tick.Ts}");
        Require(Enum.IsDefined(tick.AssetClass), $"{who}: a tick with asset class {(int)tick.AssetClass}");
    }

    /// <summary>A tick written and read back must be the tick it was, every field.</summary>
    public static void SameTick(in Tick expected, in Tick actual, string who) =>
        Require(expected == actual, $"{who}: {expected} became {actual}");

    public static void Bar(Bar bar)
    {
        Require(!string.IsNullOrEmpty(bar.Symbol) && !string.IsNullOrEmpty(bar.Window), $"a bar without a symbol or window: {bar}");
        Require(double.IsFinite(bar.Open) && double.IsFinite(bar.High) && double.IsFinite(bar.Low) && double.IsFinite(bar.Close), $"a bar with OHLC that are not finite: {bar}");
        Require(double.IsFinite(bar.Volume) && bar.Volume >= 0, $"a bar with volume {bar.Volume:R}");
        Require(bar.Vwap is null || double.IsFinite(bar.Vwap.Value), $"a bar with vwap {bar.Vwap:R}");
        Require(bar.Trades >= 0, $"a bar with {bar.Trades} trades");
        Require(bar.WindowStart is >= EventTime.MinMs and <= EventTime.MaxMs && bar.WindowEnd is > EventTime.MinMs and <= EventTime.MaxMs && bar.WindowStart < bar.WindowEnd, $"a bar with window {bar.WindowStart}..{bar.WindowEnd}");
    }

    public static void Alert(Alert alert)
    {
        Require(!string.IsNullOrEmpty(alert.Id) && !string.IsNullOrEmpty(alert.Rule) && !string.IsNullOrEmpty(alert.Symbol) && !string.IsNullOrEmpty(alert.Window), $"an alert with an empty name: {alert}");
        Require(double.IsFinite(alert.Value) && double.IsFinite(alert.Threshold), $"an alert with values that are not finite: {alert}");
        Require(alert.WindowStart < alert.WindowEnd && alert.WindowStart >= EventTime.MinMs && alert.WindowEnd <= EventTime.MaxMs, $"an alert with window {alert.WindowStart}..{alert.WindowEnd}");
        Require(alert.Ts is >= EventTime.MinMs and <= EventTime.MaxMs, $"an alert with ts {alert.Ts}");
    }

    public static void Pipeline(PipelineDefinition definition, string who)
    {
        Require(definition.Windows.Count is > 0 and <= PipelineLoader.MaxWindows, $"{who}: a pipeline of {definition.Windows.Count} windows");
        Require(definition.Rules.Count <= PipelineLoader.MaxRules, $"{who}: a pipeline of {definition.Rules.Count} rules");
        Require(definition.Aggregates.Count > 0, $"{who}: a pipeline without aggregates");
        foreach (var w in definition.Windows)
        {
            var span = w.Kind == WindowKind.Session ? w.GapMs : w.SizeMs;
            Require(span is > 0 and <= PipelineLoader.MaxWindowMs, $"{who}: window {w.Name} of {span} ms");
            Require(w.Kind != WindowKind.Hopping || (w.SlideMs > 0 && w.SlideMs <= w.SizeMs && w.SizeMs % w.SlideMs == 0), $"{who}: hopping window {w.Name} of size {w.SizeMs} and slide {w.SlideMs}");
        }

        Require(definition.OutOfOrdernessMs is >= 0 and <= PipelineLoader.MaxToleranceMs && definition.DedupHorizonMs is >= 0 and <= PipelineLoader.MaxToleranceMs, $"{who}: tolerances {definition.OutOfOrdernessMs}, {definition.DedupHorizonMs}");
        foreach (var r in definition.Rules)
        {
            Require(double.IsFinite(r.Threshold), $"{who}: rule {r.Name} with threshold {r.Threshold:R}");
            Require(r.Kind != RuleKind.VolumeSurge || r.Lookback is >= 1 and <= 10_000, $"{who}: rule {r.Name} with lookback {r.Lookback}");
        }

        Require(definition.Indicators.Count <= PipelineLoader.MaxIndicators, $"{who}: a pipeline of {definition.Indicators.Count} indicators");
        foreach (var i in definition.Indicators)
        {
            Require(i.Period is >= 1 and <= IndicatorKind.MaxPeriod, $"{who}: indicator {i.Name} with period {i.Period}");
            Require(definition.Windows.Any(w => w.Name == i.Window), $"{who}: indicator {i.Name} over window {i.Window}, which is not defined");
        }
    }

    /// <summary>A detail meant for one log line: a line break in it would let a message forge log lines.</summary>
    public static void OneLine(string text, string who) =>
        Require(text.AsSpan().IndexOfAny(LineBreaks) < 0, $"{who} has a line break: {text}");
}
