using System.Text;

namespace Breadboard.Core.Seams;

/// <summary>
/// The one rule by which a setting's value is shown: URLs with their credentials replaced by <c>***</c>, for every
/// message, log line and API answer that names a store, bus, engine or endpoint.
/// </summary>
/// <remarks>
/// <para>What is hidden: the password of a URL's user info (<c>user:pw@</c> → <c>user:***@</c>; a user info without a
/// password may be a token: <c>***@</c>), the value of every query or fragment parameter whose name looks secret
/// (see <see cref="IsSecretKey"/>), and the path of a Slack incoming webhook, which is its secret.</para>
/// <para>The text is never parsed as a <see cref="Uri"/>: a URL that does not parse is the likeliest to be shown in
/// an error, and it must not show its secret either. When in doubt more is hidden: everything from <c>://</c> to
/// the last <c>@</c> of a URL counts as its user info, and a secret parameter's value runs to the next
/// <c>name=</c>.</para>
/// </remarks>
public static class SecretText
{
    /// <summary>What stands for a hidden value.</summary>
    public const string Mask = "***";

    // Parameter names containing one of these are secret: password, passwd, pwd, secret, token, key, api_key,
    // apikey, access_token, auth, credentials, sig, signature, X-Amz-Signature, client_secret, ...
    private static readonly string[] SecretStems = ["PASS", "PWD", "SECRET", "TOKEN", "KEY", "AUTH", "CREDENTIAL", "SIG"];

    // Where the path of a URL is its secret (anyone holding it can post).
    private static readonly string[] SecretPathHosts = ["hooks.slack.com"];

    /// <summary>Whether a URL parameter of this name holds a secret (case-insensitive, percent-decoded).</summary>
    public static bool IsSecretKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var name = Decode(key).ToUpperInvariant();
        foreach (var stem in SecretStems)
        {
            if (name.Contains(stem, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A setting's value as it may be shown: one URL, or several separated by <c>;</c>, <c>,</c> or spaces
    /// (<c>--urls</c>, NATS server lists), each with its secrets replaced by <see cref="Mask"/>.
    /// </summary>
    public static string Redact(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return value ?? "";
        }

        var shown = new StringBuilder(value.Length);
        var start = 0;
        foreach (var next in UrlStarts(value))
        {
            if (next > start)
            {
                shown.Append(RedactUrl(value[start..next]));
                start = next;
            }
        }

        shown.Append(RedactUrl(value[start..]));
        return shown.ToString();
    }

    /// <summary>
    /// Free text (an error message, a library's exception text) with every URL in it redacted as by
    /// <see cref="Redact"/>, and every <c>name=value</c> whose name looks secret shown as <c>name=***</c>.
    /// </summary>
    public static string RedactText(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? "";
        }

        var shown = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            if (IsTokenBreak(text[i]))
            {
                shown.Append(text[i++]);
                continue;
            }

            var end = i;
            while (end < text.Length && !IsTokenBreak(text[end]))
            {
                end++;
            }

            var token = text[i..end];
            if (token.Contains("://", StringComparison.Ordinal) || HasUserInfo(token))
            {
                shown.Append(Redact(token));
            }
            else if (token.Contains('=', StringComparison.Ordinal))
            {
                shown.Append(RedactParameters(token));
            }
            else
            {
                shown.Append(token);
            }

            i = end;
        }

        return shown.ToString();
    }

    /// <summary><c>scheme://host[:port]/…</c>: a URL whose path or query is a secret (a Slack or other webhook), for messages.</summary>
    public static string HostOnly(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return url.IsAbsoluteUri ? $"{url.Scheme}://{url.Authority}/…" : "…";
    }

    /// <summary>Where each URL after the first begins: a scheme right after a separator (<c>;</c>, <c>,</c>, white space).</summary>
    private static IEnumerable<int> UrlStarts(string value)
    {
        var from = 0;
        int found;
        while ((found = value.IndexOf("://", from, StringComparison.Ordinal)) >= 0)
        {
            var schemeStart = found;
            while (schemeStart > 0 && IsSchemeChar(value[schemeStart - 1]))
            {
                schemeStart--;
            }

            if (schemeStart > 0 && schemeStart < found && (value[schemeStart - 1] is ';' or ',' || char.IsWhiteSpace(value[schemeStart - 1])))
            {
                yield return schemeStart;
            }

            from = found + 3;
        }
    }

    private static string RedactUrl(string url)
    {
        var separator = url.IndexOf("://", StringComparison.Ordinal);
        var authorityStart = separator < 0 ? 0 : separator + 3;
        var shown = new StringBuilder(url.Length);
        shown.Append(url, 0, authorityStart);
        var rest = url[authorityStart..];
        var at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            shown.Append(MaskUserInfo(rest[..at])).Append('@');
            var inQuery = rest.IndexOfAny(['?', '#'], 0, at) >= 0;
            rest = rest[(at + 1)..];
            if (inQuery)
            {
                // The @ was in the query or fragment (or the password holds ? or #): what follows is parameters.
                return shown.Append(RedactParameters(rest)).ToString();
            }
        }

        var hostEnd = rest.IndexOfAny(['/', '?', '#']);
        var host = hostEnd < 0 ? rest : rest[..hostEnd];
        if (hostEnd >= 0 && IsSecretPathHost(host))
        {
            return shown.Append(host).Append("/…").ToString();
        }

        if (separator < 0)
        {
            // No scheme: a bare host list or a name=value list; any secret parameter in it is hidden.
            return shown.Append(rest.Contains('=', StringComparison.Ordinal) ? RedactParameters(rest) : rest).ToString();
        }

        var query = rest.IndexOfAny(['?', '#']);
        if (query < 0)
        {
            return shown.Append(rest).ToString();
        }

        shown.Append(rest, 0, query + 1);
        var parameters = rest[(query + 1)..];
        var fragment = rest[query] == '?' ? parameters.IndexOf('#', StringComparison.Ordinal) : -1;
        if (fragment < 0)
        {
            return shown.Append(RedactParameters(parameters)).ToString();
        }

        return shown.Append(RedactParameters(parameters[..fragment])).Append('#').Append(RedactParameters(parameters[(fragment + 1)..])).ToString();
    }

    /// <summary><c>user:***</c>, or <c>***</c> for a token, an empty user, or what may be more than one user info (a server list).</summary>
    private static string MaskUserInfo(string userInfo)
    {
        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        var user = colon > 0 ? userInfo[..colon] : "";
        return user.Length > 0 && !userInfo.Contains(',', StringComparison.Ordinal) && user.IndexOfAny(['@', ';', '/', '?', '#']) < 0 ? user + ":" + Mask : Mask;
    }

    /// <summary>
    /// <c>a=1&amp;token=x&amp;b=2</c> → <c>a=1&amp;token=***&amp;b=2</c>; pieces without <c>=</c> right after a secret
    /// are taken as part of its value (an unencoded <c>&amp;</c> in it) and hidden with it.
    /// </summary>
    private static string RedactParameters(string parameters)
    {
        var shown = new StringBuilder(parameters.Length);
        var masking = false;
        var i = 0;
        while (i <= parameters.Length)
        {
            var end = parameters.IndexOfAny(['&', ';'], i);
            if (end < 0)
            {
                end = parameters.Length;
            }

            var piece = parameters[i..end];
            var eq = piece.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0 && masking)
            {
                // Part of the secret value before it.
            }
            else
            {
                if (i > 0)
                {
                    shown.Append(parameters[i - 1]);
                }

                masking = eq > 0 && IsSecretKey(piece[..eq]);
                shown.Append(masking ? piece[..(eq + 1)] + Mask : piece);
            }

            i = end + 1;
        }

        return shown.ToString();
    }

    private static bool IsSecretPathHost(string host)
    {
        var name = host.StartsWith('[') ? host : host.Split(':')[0];
        return SecretPathHosts.Any(h => name.Equals(h, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary><c>user:pw@host</c> without a scheme; an e-mail address (no colon before the <c>@</c>) is not one.</summary>
    private static bool HasUserInfo(string token)
    {
        var at = token.LastIndexOf('@');
        var colon = token.IndexOf(':', StringComparison.Ordinal);
        return at > 0 && colon >= 0 && colon < at;
    }

    private static bool IsTokenBreak(char c) => char.IsWhiteSpace(c) || c is '\'' or '"' or '`' or '<' or '>';

    private static bool IsSchemeChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.';

    private static string Decode(string text)
    {
        try
        {
            return Uri.UnescapeDataString(text.Replace('+', ' '));
        }
        catch (UriFormatException)
        {
            return text;
        }
    }
}
