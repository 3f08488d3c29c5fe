using Xunit.v3;

namespace Breadboard.TestKit;

/// <summary>
/// Marks tests that start a server or a process (clickhouse-server, nats-server, the Kafka mock process, the CLI
/// binary, Chromium, an SMTP server): the trait <c>Speed=Slow</c>, which <c>scripts/test-fast.sh</c> leaves out.
/// </summary>
/// <remarks>On an assembly, a test class or a collection definition it marks every test in it.</remarks>
[AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false)]
public sealed class SlowAttribute : Attribute, ITraitAttribute
{
    public const string Name = "Speed";

    public const string Value = "Slow";

    public IReadOnlyCollection<KeyValuePair<string, string>> GetTraits() => [new(Name, Value)];
}
