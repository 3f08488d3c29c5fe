using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Breadboard.Web;

namespace Breadboard.Cli.Settings;

/// <summary>
/// The web server's browser boundary as <c>up</c> and <c>api</c> take it: <c>--allowed-hosts</c>,
/// <c>--allowed-origins</c> and <c>--max-stream-clients</c>, each with its environment variable.
/// </summary>
internal sealed partial class WebBoundary
{
    private readonly Option<string?> _hosts = new("--allowed-hosts")
    {
        Description = $"Host names the web server answers to besides those of --urls (a loopback or 0.0.0.0 address brings localhost, 127.0.0.1, [::1]), ',' between them; *.example.com for subdomains (env {WebOptions.AllowedHostsVariable}). Needed when listening on 0.0.0.0 behind a name.",
    };

    private readonly Option<string?> _origins = new("--allowed-origins")
    {
        Description = $"Origins of other sites whose pages may use the live stream and mutating endpoints, like https://dash.example.com, ',' between them (default: none, only the server's own pages; env {WebOptions.AllowedOriginsVariable}).",
    };

    private readonly Option<string?> _maxClients = new("--max-stream-clients")
    {
        Description = $"Live-stream connections served at once; one more is refused with 503 (default {WebOptions.DefaultMaxStreamClients}, env {WebOptions.MaxStreamClientsVariable}).",
    };

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(_hosts);
        command.Options.Add(_origins);
        command.Options.Add(_maxClients);
    }

    /// <summary><paramref name="options"/> with the boundary settings given on the command line or in the environment.</summary>
    /// <exception cref="SettingException">A value that is no host name, no origin or no positive count.</exception>
    public WebOptions Apply(ParseResult parse, WebOptions options)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(options);
        var hosts = List(parse, _hosts, WebOptions.AllowedHostsVariable);
        foreach (var host in hosts)
        {
            if (!HostPattern().IsMatch(host))
            {
                throw new SettingException($"{Describe(_hosts, WebOptions.AllowedHostsVariable)}: '{host}' is not a host name; give names without scheme or port, like localhost, backend or *.example.com");
            }
        }

        var origins = List(parse, _origins, WebOptions.AllowedOriginsVariable);
        foreach (var origin in origins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.PathAndQuery != "/" || origin.TrimEnd('/').Count(c => c == '/') != 2)
            {
                throw new SettingException($"{Describe(_origins, WebOptions.AllowedOriginsVariable)}: '{origin}' is not an origin; give scheme, host and port only, like https://dash.example.com");
            }
        }

        var max = Value(parse, _maxClients, WebOptions.MaxStreamClientsVariable);
        var maxClients = WebOptions.DefaultMaxStreamClients;
        if (max is not null && (!int.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out maxClients) || maxClients < 1))
        {
            throw new SettingException($"{Describe(_maxClients, WebOptions.MaxStreamClientsVariable)}: '{max}' is not a whole number of at least 1");
        }

        return options with
        {
            AllowedHosts = hosts.Count == 0 ? options.AllowedHosts : hosts,
            AllowedOrigins = origins.Count == 0 ? options.AllowedOrigins : origins,
            MaxStreamClients = maxClients,
        };
    }

    private static string? Value(ParseResult parse, Option<string?> option, string variable) =>
        parse.GetValue(option) is { Length: > 0 } given ? given : Environment.GetEnvironmentVariable(variable) is { Length: > 0 } set ? set : null;

    private static List<string> List(ParseResult parse, Option<string?> option, string variable) =>
        [.. (Value(parse, option, variable) ?? "").Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static string Describe(Option<string?> option, string variable) => $"{option.Name} (env {variable})";

    /// <summary>A DNS name, optionally with a leading <c>*.</c>, an IPv4 address, a bracketed IPv6 address, or <c>*</c>.</summary>
    [GeneratedRegex(@"^(\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$")]
    private static partial Regex HostPattern();
}
