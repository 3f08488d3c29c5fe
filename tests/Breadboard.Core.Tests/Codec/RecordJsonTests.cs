using Breadboard.Core.Codec;
using Breadboard.Core.Model;

namespace Breadboard.Core.Tests.Codec;

/// <summary>Bars and alerts read from outside (Flink's output topics, the alert stream): what they may not carry.</summary>
public class RecordJsonTests
{
    private static readonly Bar SampleBar = new("AAPL", "1m", 1_767_364_200_000, 1_767_364_260_000, 100, 102, 99, 101, 10, 100.5, 4);

    private static readonly Alert SampleAlert = new("drop:AAPL:5m:1767364200000", "drop", "AAPL", "5m", 1_767_364_200_000, 1_767_364_500_000, -5.5, -5, 1_767_364_500_000);

    private static string BarJson => System.Text.Encoding.UTF8.GetString(RecordJson.Bar(SampleBar));

    private static string AlertJson => System.Text.Encoding.UTF8.GetString(RecordJson.Alert(SampleAlert));

    [Fact]
    public void TryParse_WhatTheWriterWrote_ReadsItBack()
    {
        Assert.True(RecordJson.TryParseBar(RecordJson.Bar(SampleBar), out var bar, out var error), error);
        Assert.Equal(SampleBar, bar);
        Assert.True(RecordJson.TryParseAlert(RecordJson.Alert(SampleAlert), out var alert, out error), error);
        Assert.Equal(SampleAlert, alert);
    }

    [Theory]
    [InlineData("\"high\":102", "\"high\":1e308", "\"open\", \"high\", \"low\" and \"close\" must be prices: a number from 1e-15 to 1e15")]
    [InlineData("\"high\":102", "\"high\":1e400", "\"high\" must be a finite number")]
    [InlineData("\"low\":99", "\"low\":-1", "\"open\", \"high\", \"low\" and \"close\" must be prices: a number from 1e-15 to 1e15")]
    [InlineData("\"vwap\":100.5", "\"vwap\":1e300", "\"vwap\" must be null or a price: a number from 1e-15 to 1e15")]
    [InlineData("\"volume\":10", "\"volume\":-10", "\"volume\" must not be negative")]
    [InlineData("\"trades\":4", "\"trades\":-4", "\"trades\" must not be negative")]
    [InlineData("\"window_end\":\"2026-01-02T14:31:00.000Z\"", "\"window_end\":9223372036854775807", "\"window_end\" must be an ISO-8601 UTC time or epoch milliseconds, from 1970 to 9999")]
    [InlineData("\"window_end\":\"2026-01-02T14:31:00.000Z\"", "\"window_end\":\"2026-01-02T14:30:00.000Z\"", "\"window_end\" must be after \"window_start\"")]
    public void TryParseBarAndCheckValues_WithValuesNoEngineMakes_RefuseThemWithTheField(string field, string replacement, string error)
    {
        Assert.Contains(field, BarJson, StringComparison.Ordinal);

        var json = System.Text.Encoding.UTF8.GetBytes(BarJson.Replace(field, replacement, StringComparison.Ordinal));

        Assert.Equal(error, RecordJson.TryParseBar(json, out var bar, out var actual) ? RecordJson.CheckValues(bar!) : actual);
    }

    [Theory]
    [InlineData("\"value\":-5.5", "\"value\":1e999", "\"value\" must be a finite number or null")]
    [InlineData("\"ts\":\"2026-01-02T14:35:00.000Z\"", "\"ts\":-1", "\"ts\" must be an ISO-8601 UTC time or epoch milliseconds, from 1970 to 9999")]
    [InlineData("\"window_start\":\"2026-01-02T14:30:00.000Z\"", "\"window_start\":\"2026-01-02T14:40:00.000Z\"", "\"window_end\" must be after \"window_start\"")]
    public void TryParseAlertAndCheckValues_WithValuesNoEngineMakes_RefuseThemWithTheField(string field, string replacement, string error)
    {
        Assert.Contains(field, AlertJson, StringComparison.Ordinal);

        var json = System.Text.Encoding.UTF8.GetBytes(AlertJson.Replace(field, replacement, StringComparison.Ordinal));

        Assert.Equal(error, RecordJson.TryParseAlert(json, out var alert, out var actual) ? RecordJson.CheckValues(alert!) : actual);
    }

    [Fact]
    public void TryParseAlert_WithPipelineDigest_WritesItAfterTsAndReadsItBack()
    {
        var stamped = SampleAlert with { Pipeline = "0123456789abcdef" };

        var json = System.Text.Encoding.UTF8.GetString(RecordJson.Alert(stamped));

        Assert.EndsWith("\"ts\":\"2026-01-02T14:35:00.000Z\",\"pipeline\":\"0123456789abcdef\"}", json, StringComparison.Ordinal);
        Assert.True(RecordJson.TryParseAlert(System.Text.Encoding.UTF8.GetBytes(json), out var alert, out var error), error);
        Assert.Equal(stamped, alert);
    }

    // Readers of alerts written before definitions were stamped: the field is left out, not written as null.
    [Fact]
    public void AlertWithoutPipeline_LeavesTheFieldOutAndReadsBackNull()
    {
        Assert.DoesNotContain("pipeline", AlertJson, StringComparison.Ordinal);
        Assert.True(RecordJson.TryParseAlert(RecordJson.Alert(SampleAlert), out var alert, out var error), error);
        Assert.Null(alert!.Pipeline);
    }

    [Theory]
    [InlineData("""{"id":"drop:AAPL:5m:1767364200000","rule":"drop","symbol":"AAPL","window":"5m","window_start":"2026-01-02T14:30:00.000Z","window_end":"2026-01-02T14:35:00.000Z","value":-5.5,"threshold":-5,"ts":"2026-01-02T14:35:00.000Z"}""")]
    [InlineData("""{"id":"drop:AAPL:5m:1767364200000","rule":"drop","symbol":"AAPL","window":"5m","window_start":"2026-01-02T14:30:00.000Z","window_end":"2026-01-02T14:35:00.000Z","value":-5.5,"threshold":-5,"ts":"2026-01-02T14:35:00.000Z","pipeline":null}""")]
    public void TryParseAlert_OldLineOrNullPipeline_ReadsTheAlertWithoutOne(string line)
    {
        Assert.True(RecordJson.TryParseAlert(System.Text.Encoding.UTF8.GetBytes(line), out var alert, out var error), error);
        Assert.Equal(SampleAlert, alert);
    }

    [Theory]
    [InlineData("42")]
    [InlineData("\"\"")]
    [InlineData("[\"0123456789abcdef\"]")]
    public void TryParseAlert_WithPipelineNotAString_RefusesItWithTheField(string value)
    {
        var json = AlertJson.TrimEnd('}') + ",\"pipeline\":" + value + "}";

        Assert.False(RecordJson.TryParseAlert(System.Text.Encoding.UTF8.GetBytes(json), out _, out var error));
        Assert.Equal("\"pipeline\" must be a non-empty string or null", error);
    }

    [Fact]
    public void AlertWithUndefinedOperands_RoundTripsThroughNullAsNaN()
    {
        var alert = new Alert("r:AAPL:1m:0", "r", "AAPL", "1m", 0, 60_000, double.NaN, 70, 60_000);
        using var stream = new MemoryStream();
        using (var writer = new RecordWriter(stream))
        {
            writer.Write(alert);
        }

        var json = System.Text.Encoding.UTF8.GetString(stream.ToArray()).TrimEnd('\n');
        Assert.Contains("\"value\":null,\"threshold\":70", json, StringComparison.Ordinal);
        Assert.True(RecordJson.TryParseAlert(System.Text.Encoding.UTF8.GetBytes(json), out var back, out var error), error);
        Assert.True(double.IsNaN(back!.Value));
        Assert.Equal(70, back.Threshold);
    }

    // Found by fuzzing (fuzz/corpus/sink-records/crash-*): JsonDocument throws InvalidOperationException, which
    // escaped both readers, when it reads a string with a lone surrogate escape or bytes that are not UTF-8
    // (written here as <FF>).
    [Theory]
    [InlineData("\"symbol\":\"AAPL\"", "\"symbol\":\"\\ud800\"")]
    [InlineData("\"symbol\":\"AAPL\"", "\"symbol\":\"AAPL\\udc00\"")]
    [InlineData("\"window_start\":\"2026-01-02T14:30:00.000Z\"", "\"window_start\":\"2026-01-02T14:30:00.000Z\\udc00\"")]
    [InlineData("\"symbol\":\"AAPL\"", "\"symbol\":\"A\\u0041<FF>\"")]
    public void TryParse_WithInvalidEscapeOrInvalidUtf8_RefusesAsNotJson(string field, string replacement)
    {
        Assert.Contains(field, BarJson, StringComparison.Ordinal);
        Assert.Contains(field, AlertJson, StringComparison.Ordinal);

        Assert.False(RecordJson.TryParseBar(Bytes(BarJson.Replace(field, replacement, StringComparison.Ordinal)), out _, out var error));
        Assert.StartsWith("not JSON", error, StringComparison.Ordinal);
        Assert.False(RecordJson.TryParseAlert(Bytes(AlertJson.Replace(field, replacement, StringComparison.Ordinal)), out _, out error));
        Assert.StartsWith("not JSON", error, StringComparison.Ordinal);
    }

    private static byte[] Bytes(string json) =>
        json.Split("<FF>").Select(System.Text.Encoding.UTF8.GetBytes).Aggregate((left, right) => [.. left, 0xFF, .. right]);
}
