using Breadboard.Core.Seams;
using CsCheck;

namespace Breadboard.Core.Tests;

public sealed class OutsideTextTests
{
    [Theory]
    [InlineData("\u001b[31mred\u001b[0m text", "red text")]
    [InlineData("a\u001b]0;title\u0007b", "ab")]
    [InlineData("a\u001b]8;;http://x\u001b\\link\u001b]8;;\u001b\\b", "alinkb")]
    [InlineData("a\u009b2Jb", "ab")]
    [InlineData("a\u001bcb", "ab")]
    [InlineData("nul\u0000bell\u0007del\u007fc1\u0085\u0090end", "nulbelldelc1 end")]
    [InlineData("line one\r\nline two\nthree\tfour", "line one line two three four")]
    [InlineData("evil\u202Egnp.exe", "evilgnp.exe")]
    [InlineData("\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069ok", "ok")]
    [InlineData("  padded  ", "padded")]
    [InlineData("", "")]
    [InlineData(null, "")]
    [InlineData("Ünïcödé 价格 ✓ 🚀", "Ünïcödé 价格 ✓ 🚀")]
    public void ForDisplay_StripsControlsAndBidiOverrides(string? text, string expected)
    {
        Assert.Equal(expected, OutsideText.ForDisplay(text));
    }

    [Fact]
    public void ForDisplay_LongText_IsCutWithAnEllipsis()
    {
        var shown = OutsideText.ForDisplay(new string('x', 1000));
        Assert.Equal(new string('x', OutsideText.DefaultMaxLength) + "…", shown);
        Assert.Equal("abc…", OutsideText.ForDisplay("abcdef", 3));
        Assert.Equal("abc", OutsideText.ForDisplay("abc", 3));
    }

    [Fact]
    public void ForDisplay_DoesNotCutASurrogatePairInHalf()
    {
        var shown = OutsideText.ForDisplay("ab🚀🚀", 3);
        Assert.Equal("ab…", shown);
    }

    [Fact]
    public void ForDisplay_AnyText_HasNoControlOrBidiCharacterAndIsShort()
    {
        Gen.String[Gen.Char, 0, 2000].Sample(text =>
        {
            var shown = OutsideText.ForDisplay(text);
            Assert.True(shown.Length <= OutsideText.DefaultMaxLength + 1);
            foreach (var c in shown)
            {
                Assert.False(char.IsControl(c), $"U+{(int)c:X4} in {shown}");
                Assert.False(c is (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069'), $"U+{(int)c:X4} in {shown}");
            }
        });
    }
}
