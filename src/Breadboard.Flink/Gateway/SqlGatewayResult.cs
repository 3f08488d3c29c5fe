namespace Breadboard.Flink.Gateway;

/// <summary>A session opened on the SQL Gateway; statements run in it share its configuration (SET) and catalog.</summary>
public sealed record SqlGatewaySession(string Handle);

/// <summary>A statement submitted in a session; <see cref="Statement"/> names it in errors.</summary>
public sealed record SqlGatewayOperation(SqlGatewaySession Session, string Handle, string Statement);

/// <summary>What <c>GET /info</c> reports.</summary>
public sealed record SqlGatewayInfo(string ProductName, string Version);

/// <summary>One result row: its changelog kind (<c>INSERT</c> for statements' results) and its fields as text.</summary>
/// <param name="Fields">Strings as they are, other JSON values as their JSON text, SQL NULL as null.</param>
public sealed record SqlGatewayRow(string Kind, IReadOnlyList<string?> Fields);

/// <summary>All pages of an operation's result.</summary>
/// <param name="JobId">The Flink job the statement submitted (<c>jobID</c>), for INSERT and statement sets.</param>
/// <param name="ResultKind"><c>SUCCESS</c> or <c>SUCCESS_WITH_CONTENT</c>.</param>
public sealed record SqlGatewayResult(IReadOnlyList<string> Columns, IReadOnlyList<SqlGatewayRow> Rows, string? JobId, string? ResultKind)
{
    /// <summary>A row's field by column name (Flink names them in lower case with spaces: <c>job id</c>); null when absent.</summary>
    public string? Get(SqlGatewayRow row, string column)
    {
        ArgumentNullException.ThrowIfNull(row);
        for (var i = 0; i < Columns.Count; i++)
        {
            if (string.Equals(Columns[i], column, StringComparison.OrdinalIgnoreCase))
            {
                return i < row.Fields.Count ? row.Fields[i] : null;
            }
        }

        return null;
    }
}
