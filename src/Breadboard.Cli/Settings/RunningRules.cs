using System.Collections;
using Breadboard.Core.Pipeline;

namespace Breadboard.Cli.Settings;

/// <summary>The rules of the definition running now, read at each use: notifiers word alerts of reloaded rules by them.</summary>
internal sealed class RunningRules(Func<PipelineDefinition> running) : IReadOnlyList<RuleDefinition>
{
    public int Count => running().Rules.Count;

    public RuleDefinition this[int index] => running().Rules[index];

    public IEnumerator<RuleDefinition> GetEnumerator() => running().Rules.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
