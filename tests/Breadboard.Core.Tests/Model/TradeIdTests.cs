using Breadboard.Core.Model;

namespace Breadboard.Core.Tests.Model;

public class TradeIdTests
{
    [Fact]
    public void None_HasNoValue()
    {
        Assert.False(TradeId.None.HasValue);
        Assert.Equal(default, TradeId.None);
        Assert.Null(TradeId.None.ToString());
    }

    [Theory]
    [InlineData("9", 9)]
    [InlineData("0", 0)]
    [InlineData("123456789012345678", 123456789012345678)]
    public void FromText_WithCanonicalDecimal_EqualsTheNumber(string text, long number)
    {
        var id = TradeId.FromText(text);

        Assert.True(id.IsNumber);
        Assert.Equal(TradeId.FromNumber(number), id);
        Assert.True(TradeId.FromNumber(number) == id);
        Assert.Equal(TradeId.FromNumber(number).GetHashCode(), id.GetHashCode());
        Assert.Equal(text, id.ToString());
    }

    [Theory]
    [InlineData("09")]
    [InlineData("00")]
    [InlineData("-9")]
    [InlineData("+9")]
    [InlineData(" 9")]
    [InlineData("9.0")]
    [InlineData("9223372036854775808")] // one past long.MaxValue
    [InlineData("abc")]
    [InlineData("")]
    public void FromText_WithOtherText_KeepsTheTextAndDiffersFromAnyNumber(string text)
    {
        var id = TradeId.FromText(text);

        Assert.False(id.IsNumber);
        Assert.True(id.HasValue);
        Assert.Equal(text, id.ToString());
        Assert.NotEqual(TradeId.FromNumber(9), id);
        Assert.Equal(TradeId.FromText(text), id);
    }

    [Theory]
    [InlineData("9")]
    [InlineData("09")]
    [InlineData("trade-ü")]
    public void FromUtf8_EqualsFromText(string text) =>
        Assert.Equal(TradeId.FromText(text), TradeId.FromUtf8(System.Text.Encoding.UTF8.GetBytes(text)));

    [Theory]
    [InlineData(1_234_567_890_123_456_789)]
    [InlineData(long.MaxValue)]
    public void FromText_WithDecimalOfAnyNumber_EqualsThatNumber(long number)
    {
        // "9" equals 9 for every number FromNumber accepts, 19-digit venue ids included.
        var text = number.ToString(System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(TradeId.FromNumber(number), TradeId.FromText(text));
        Assert.Equal(TradeId.FromNumber(number), TradeId.FromText(TradeId.FromNumber(number).ToString()!));
    }

    [Fact]
    public void FromText_WithDifferentCase_IsADifferentId() =>
        Assert.NotEqual(TradeId.FromText("a"), TradeId.FromText("A"));

    [Fact]
    public void FromNumber_WithNegative_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TradeId.FromNumber(-1));
}
