namespace Breadboard.Flink.Gateway;

/// <summary>
/// <c>flink deploy --upgrade</c> refused before touching the running job: no single active job, the SQL it runs is
/// unknown, or the new SQL cannot keep its state. The message is one line saying why.
/// </summary>
public sealed class FlinkUpgradeRefusedException : Exception
{
    public FlinkUpgradeRefusedException(string message)
        : base(message)
    {
    }

    public FlinkUpgradeRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public FlinkUpgradeRefusedException()
    {
    }
}
