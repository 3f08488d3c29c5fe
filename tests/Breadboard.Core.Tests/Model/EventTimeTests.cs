using Breadboard.Core.Model;

namespace Breadboard.Core.Tests.Model;

public class EventTimeTests
{
    [Theory]
    [InlineData("2026-01-02T14:30:00.123Z", 1767364200123)]
    [InlineData("2026-01-02T14:30:00Z", 1767364200000)]
    [InlineData("2026-01-02T14:30:00.1Z", 1767364200100)]
    [InlineData("2026-01-02T14:30:00.123456789Z", 1767364200123)]
    [InlineData("2026-01-02T15:30:00.123+01:00", 1767364200123)]
    [InlineData("2026-01-02 14:30:00.123Z", 1767364200123)]
    public void TryParseIso_AcceptsUtcAndOffsets(string text, long expected)
    {
        Assert.True(EventTime.TryParseIso(text.AsSpan(), out var ms));
        Assert.Equal(expected, ms);
        Assert.True(EventTime.TryParseIso(System.Text.Encoding.UTF8.GetBytes(text).AsSpan(), out var fromUtf8));
        Assert.Equal(expected, fromUtf8);
    }

    [Theory]
    [InlineData("2026-01-02T14:30:00.123")]
    [InlineData("2026-02-30T14:30:00Z")]
    [InlineData("2026-01-02T24:00:00Z")]
    [InlineData("2026-01-02T14:30:00.Z")]
    [InlineData("yesterday")]
    [InlineData("2026-01-02T14:30:00Zjunk")]
    public void TryParseIso_RefusesMalformedOrZonelessTimes(string text) =>
        Assert.False(EventTime.TryParseIso(text.AsSpan(), out _));

    [Fact]
    public void ToIso_AlwaysWritesMillisecondsAndZ() =>
        Assert.Equal("2026-01-02T14:30:00.120Z", EventTime.ToIso(1767364200120));
}
