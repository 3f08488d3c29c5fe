using Breadboard.Core.Model;
using CsCheck;

namespace Breadboard.Core.Tests.Model;

public class EventTimeProperties
{
    [Fact]
    public void ToIso_ThenTryParseIso_GivesBackTheSameMilliseconds() =>
        Gen.Long[EventTime.MinMs, EventTime.MaxMs].Sample(
            ms =>
            {
                var iso = EventTime.ToIso(ms);
                Assert.Equal(24, iso.Length);
                Assert.True(EventTime.TryParseIso(iso.AsSpan(), out var back), iso);
                Assert.Equal(ms, back);
                Assert.Equal(EventTime.ToDateTimeOffset(ms).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture), iso);
            },
            iter: 20_000);

    [Fact]
    public void TryParseIso_WithOffset_EqualsTheUtcInstant() =>
        Gen.Select(Gen.Long[86_400_000, EventTime.MaxMs - 86_400_000], Gen.Int[-14 * 60, 14 * 60]).Sample(
            (ms, offsetMinutes) =>
            {
                var local = EventTime.ToDateTimeOffset(ms).ToOffset(TimeSpan.FromMinutes(offsetMinutes));
                var text = local.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(EventTime.TryParseIso(text.AsSpan(), out var back), text);
                Assert.Equal(ms, back);
            },
            iter: 20_000);

    [Theory]
    [InlineData("1767364200123", 1767364200123)]
    [InlineData("2026-01-02", 1767312000000)]
    [InlineData("2026-01-02T14:30:00.123Z", 1767364200123)]
    public void TryParse_WithEpochMsIsoOrDate_ReadsIt(string text, long expected)
    {
        Assert.True(EventTime.TryParse(text, out var ms));
        Assert.Equal(expected, ms);
    }

    [Theory]
    [InlineData("253402300800000")]
    [InlineData("-1")]
    [InlineData("soon")]
    [InlineData("2026-01-02T14:30:00")]
    public void TryParse_WithOutOfRangeOrZonelessText_Refuses(string text) =>
        Assert.False(EventTime.TryParse(text, out _));
}
