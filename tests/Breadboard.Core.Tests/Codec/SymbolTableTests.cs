using System.Text;
using Breadboard.Core.Codec;

namespace Breadboard.Core.Tests.Codec;

public class SymbolTableTests
{
    [Fact]
    public void Intern_WithSameTextAsBytesOrChars_ReturnsTheSameString()
    {
        var table = new SymbolTable();

        var fromBytes = table.Intern("BTC-USD"u8);
        var fromChars = table.Intern("BTC-USD".AsSpan());

        Assert.Equal("BTC-USD", fromBytes);
        Assert.Same(fromBytes, fromChars);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Intern_WithNonAsciiUtf8_DecodesIt() =>
        Assert.Equal("ÄÖÜ-€", new SymbolTable().Intern(Encoding.UTF8.GetBytes("ÄÖÜ-€")));

    [Theory]
    [InlineData("")]
    [InlineData("BTC USD")]
    [InlineData("BTC\tUSD")]
    [InlineData("BTC\u0001")]
    [InlineData("BTC\u00A0USD")]
    public void Intern_WithEmptyOrWhitespaceOrControl_ReturnsNull(string text)
    {
        var table = new SymbolTable();

        Assert.Null(table.Intern(text.AsSpan()));
        Assert.Null(table.Intern(Encoding.UTF8.GetBytes(text)));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Intern_WithSixtyFourCharacters_AcceptsItAndRefusesSixtyFive()
    {
        var table = new SymbolTable();

        Assert.NotNull(table.Intern(Encoding.UTF8.GetBytes(new string('é', 64))));
        Assert.Null(table.Intern(Encoding.UTF8.GetBytes(new string('é', 65))));
        Assert.Null(table.Intern(new string('A', 65).AsSpan()));
    }

    [Fact]
    public void Intern_WithInvalidUtf8_ReturnsNull() =>
        Assert.Null(new SymbolTable().Intern([0x41, 0xC3, 0x28]));
}
