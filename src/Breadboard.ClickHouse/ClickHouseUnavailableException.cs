namespace Breadboard.ClickHouse;

/// <summary>The ClickHouse server did not answer (refused, reset, timed out) within the retry budget.</summary>
public sealed class ClickHouseUnavailableException : Exception
{
    public ClickHouseUnavailableException()
    {
    }

    public ClickHouseUnavailableException(string message)
        : base(message)
    {
    }

    public ClickHouseUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
