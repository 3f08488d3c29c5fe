using System.Net;

namespace Breadboard.ClickHouse.Tests;

/// <summary>Error bodies, as 18.16 and newer servers write them, read without a server.</summary>
public sealed class ClickHouseExceptionTests
{
    [Fact]
    public void FromResponse_WithA25xBodyAndCodeHeader_KeepsTheFirstLineAndTheCode()
    {
        const string body = "Code: 62. DB::Exception: Syntax error: failed at position 1 (SELEC): SELEC 1. Expected one of: Query. (SYNTAX_ERROR) (version 25.3.2.39 (official build))\n0. stack frame\n1. another frame\n";

        var error = ClickHouseException.FromResponse(HttpStatusCode.BadRequest, "62", body, "SELEC 1");

        Assert.Equal(62, error.Code);
        Assert.False(error.IsTransient);
        Assert.Equal("ClickHouse error 62: DB::Exception: Syntax error: failed at position 1 (SELEC): SELEC 1. Expected one of: Query. (SYNTAX_ERROR) (version 25.3.2.39 (official build)) (query: SELEC 1)", error.Message);
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError, "Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded, e.what() = DB::Exception", 241, true)]
    [InlineData(HttpStatusCode.InternalServerError, "Code: 202, e.displayText() = DB::Exception: Too many simultaneous queries, e.what() = DB::Exception", 202, true)]
    [InlineData(HttpStatusCode.InternalServerError, "Code: 225, e.displayText() = DB::Exception: ZooKeeper session has been expired., e.what() = DB::Exception", 225, true)]
    [InlineData(HttpStatusCode.InternalServerError, "Code: 999, e.displayText() = Coordination::Exception: Connection loss, e.what() = Coordination::Exception", 999, true)]
    [InlineData(HttpStatusCode.InternalServerError, "Code: 319, e.displayText() = DB::Exception: Unknown status, client must retry. Reason: Connection loss, e.what() = DB::Exception", 319, true)]
    [InlineData(HttpStatusCode.ServiceUnavailable, "<html>upstream unavailable</html>", 0, true)]
    [InlineData(HttpStatusCode.NotFound, "Code: 60, e.displayText() = DB::Exception: Table default.x doesn't exist., e.what() = DB::Exception", 60, false)]
    [InlineData(HttpStatusCode.InternalServerError, "Code: 53, e.displayText() = DB::Exception: Type mismatch, e.what() = DB::Exception", 53, false)]
    public void FromResponse_TellsTransientErrorsFromWrongQueries(HttpStatusCode status, string body, int code, bool transient)
    {
        var error = ClickHouseException.FromResponse(status, null, body, "SELECT 1");

        Assert.Equal((code, transient), (error.Code, error.IsTransient));
    }

    [Fact]
    public void FromResponse_AbbreviatesLongSqlToOneLineOf80Characters()
    {
        var sql = "SELECT\n    " + string.Join(",\n    ", Enumerable.Range(0, 50).Select(i => $"column_{i}")) + "\nFROM t";

        var error = ClickHouseException.FromResponse(HttpStatusCode.BadRequest, null, "Code: 47, e.displayText() = DB::Exception: Unknown identifier, e.what() = DB::Exception", sql);

        Assert.EndsWith("(query: SELECT column_0, column_1, column_2, column_3, column_4, column_5, column_6, col…)", error.Message, StringComparison.Ordinal);
    }
}
