namespace Breadboard.Flink;

/// <summary>The pipeline uses a feature Flink SQL cannot express with the local engine's semantics; the message names it in one line.</summary>
public sealed class FlinkUnsupportedException(string message) : NotSupportedException(message);
