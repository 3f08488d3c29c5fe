namespace Breadboard.DuckDb.Tests;

public class DuckDbUrlTests
{
    [Theory]
    [InlineData("duckdb://./data/breadboard.duckdb", "./data/breadboard.duckdb")]
    [InlineData("duckdb://data/breadboard.duckdb", "data/breadboard.duckdb")]
    [InlineData("duckdb:///var/lib/breadboard/store.duckdb", "/var/lib/breadboard/store.duckdb")]
    [InlineData("DuckDB:///tmp/x.duckdb", "/tmp/x.duckdb")]
    [InlineData("duckdb:///C:/data/breadboard.duckdb", "C:/data/breadboard.duckdb")]
    [InlineData("duckdb://:memory:", ":memory:")]
    public void TryParseUrl_AcceptsRelativeAbsoluteAndMemory(string url, string expected)
    {
        Assert.True(DuckDbStore.TryParseUrl(url, out var path, out var error), error);
        Assert.Equal(expected, path);
        Assert.Empty(error);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("clickhouse://localhost:8123", "not a duckdb:// URL")]
    [InlineData("./data/breadboard.duckdb", "not a duckdb:// URL")]
    [InlineData("duckdb://", "names no file")]
    [InlineData("duckdb:///", "names no file")]
    [InlineData("duckdb://./data/", "names a directory")]
    [InlineData("duckdb://./x.duckdb?access_mode=read_only", "query or fragment")]
    public void TryParseUrl_RefusesWithAOneLineReason(string url, string reason)
    {
        Assert.False(DuckDbStore.TryParseUrl(url, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }
}
