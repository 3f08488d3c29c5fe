using Breadboard.Flink.Gateway;
using Breadboard.TestKit.Flink;

namespace Breadboard.Flink.Tests.Gateway;

public class RootCauseTests
{
    [Fact]
    public void RootCause_FlinkServerSideTrace_IsTheDeepestCausedByWithoutItsPackage()
    {
        var body = System.Text.Json.JsonDocument.Parse(FakeFlinkGateway.ErrorBody("Failed to fetchResults.", "org.apache.flink.table.api.ValidationException: Could not find any factory for identifier 'kafka'"));
        var errors = body.RootElement.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();

        Assert.Equal("ValidationException: Could not find any factory for identifier 'kafka'", FlinkGatewayException.RootCause(errors));
    }

    [Fact]
    public void RootCause_WithoutCausedBy_IsTheFirstLineThatIsNotPreambleOrFrame()
    {
        string[] errors = ["Internal server error.", "<Exception on server side:\norg.apache.flink.table.gateway.api.utils.SqlGatewayException: Session 'x' does not exist.\n\tat org.apache.flink.Foo.bar(Foo.java:1)\n\nEnd of exception on server side>"];

        Assert.Equal("SqlGatewayException: Session 'x' does not exist.", FlinkGatewayException.RootCause(errors));
    }

    [Fact]
    public void RootCause_WithEscapeSequencesAndBidiOverrides_ShowsTheTextWithoutThem() =>
        Assert.Equal("ValidationException: table gnp.exe not found", FlinkGatewayException.RootCause(["Caused by: org.apache.flink.table.api.ValidationException: table \u001b[31m\u202Egnp.exe\u001b[0m not found\u0007"]));

    [Fact]
    public void RootCause_PlainMessage_IsKept() =>
        Assert.Equal("Not found: /v2/nope", FlinkGatewayException.RootCause(["Not found: /v2/nope"]));

    [Theory]
    [InlineData("CREATE TABLE stock_prices (\n  `v` INT\n)", "CREATE TABLE stock_prices")]
    [InlineData("CREATE TEMPORARY VIEW ticks AS\nSELECT 1", "CREATE TEMPORARY VIEW ticks")]
    [InlineData("SET 'pipeline.name' = 'bb'", "SET 'pipeline.name' = 'bb'")]
    [InlineData("EXECUTE STATEMENT SET\nBEGIN\nEND", "EXECUTE STATEMENT SET")]
    public void Summarize_Statement_IsItsFirstLine(string statement, string expected) =>
        Assert.Equal(expected, FlinkGatewayException.Summarize(statement));
}
