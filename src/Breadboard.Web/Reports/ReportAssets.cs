using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Breadboard.Web.Reports;

/// <summary>
/// What a report inlines, read from the Web assembly's resources (Dashboard.targets embeds them): the chart library,
/// the dashboard's stylesheet, and one classic script made of the dashboard's chart modules and the report's own.
/// </summary>
internal static partial class ReportAssets
{
    private const string Prefix = "Breadboard.Web.Report.";

    /// <summary>The modules the report's script is made of, each after those it imports.</summary>
    private static readonly string[] Modules = ["format.js", "alerts.js", "chart.js", "report.js"];

    private static readonly Lazy<string> Library = new(() => Checked("lightweight-charts.standalone.production.js", Read("lightweight-charts.standalone.production.js")));
    private static readonly Lazy<string> ScriptText = new(() => Checked("report.js", Bundle(Modules.Select(m => (m, Read(m))))));
    private static readonly Lazy<string> StyleText = new(() => Checked("report.css", Read("dashboard.css") + "\n" + Read("report.css")));

    /// <summary>TradingView's lightweight-charts, the standalone build that defines <c>window.LightweightCharts</c>.</summary>
    public static string ChartLibrary => Library.Value;

    /// <summary>The dashboard's chart.js (with format.js and alerts.js) and report.js as one classic script.</summary>
    public static string Script => ScriptText.Value;

    /// <summary>The dashboard's stylesheet followed by the report's.</summary>
    public static string Style => StyleText.Value;

    /// <summary>The Content-Security-Policy source that allows exactly this inline script.</summary>
    public static string Hash(string script) => $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(script)))}'";

    /// <summary>
    /// Turns ES modules into one classic script: each module runs in its own function, returns what it exports, and
    /// its imports read from the modules before it. A file:// page cannot load modules, and a report has no server.
    /// </summary>
    /// <remarks>
    /// Knows the forms the dashboard writes, <c>import { a, b } from './x.js';</c> and <c>export function|class|const</c>;
    /// anything else that imports or exports throws, so that a new form fails the report's tests rather than a user's
    /// browser.
    /// </remarks>
    public static string Bundle(IEnumerable<(string Name, string Text)> modules)
    {
        var script = new StringBuilder("(() => {\n'use strict';\nconst modules = Object.create(null);\n");
        foreach (var (name, text) in modules)
        {
            var exports = new List<string>();
            var body = ImportPattern().Replace(text, m =>
            {
                var from = m.Groups["from"].Value;
                var names = string.Join(", ", m.Groups["names"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(n => n.Replace(" as ", ": ", StringComparison.Ordinal)));
                return $"const {{ {names} }} = modules['{from}'] ?? (() => {{ throw new Error('{name} imports {from}, which is not bundled before it'); }})();";
            });
            body = ExportPattern().Replace(body, m =>
            {
                exports.Add(m.Groups["name"].Value);
                return m.Groups["declaration"].Value;
            });
            if (LeftoverPattern().Match(body) is { Success: true } leftover)
            {
                throw new NotSupportedException($"{name}: the report's bundler does not know '{leftover.Value.Trim()}'");
            }

            script.Append(System.Globalization.CultureInfo.InvariantCulture, $"modules['{name}'] = (() => {{\n{body}\nreturn {{ {string.Join(", ", exports)} }};\n}})();\n");
        }

        return script.Append("})();\n").ToString();
    }

    private static string Read(string name)
    {
        using var stream = typeof(ReportAssets).Assembly.GetManifestResourceStream(Prefix + name)
            ?? throw new InvalidOperationException($"the Web assembly has no resource {Prefix}{name}: Dashboard.targets embeds it at build time");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>Refuses text that would end the element it is inlined in, or start an HTML comment that hides the rest.</summary>
    private static string Checked(string name, string text) =>
        text.Contains("</script", StringComparison.OrdinalIgnoreCase) || text.Contains("</style", StringComparison.OrdinalIgnoreCase) || text.Contains("<!--", StringComparison.Ordinal)
            ? throw new InvalidOperationException($"{name} contains '</script', '</style' or '<!--' and cannot be inlined")
            : text;

    [GeneratedRegex(@"^import\s*\{(?<names>[^}]*)\}\s*from\s*'\./(?<from>[\w.-]+)';[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex ImportPattern();

    [GeneratedRegex(@"^export\s+(?<declaration>(?:async\s+)?(?:function\*?|class|const|let)\s+(?<name>[\w$]+))", RegexOptions.Multiline)]
    private static partial Regex ExportPattern();

    [GeneratedRegex(@"^\s*(?:import|export)\b.*$", RegexOptions.Multiline)]
    private static partial Regex LeftoverPattern();
}
