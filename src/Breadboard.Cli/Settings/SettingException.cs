using Breadboard.Core.Seams;

namespace Breadboard.Cli.Settings;

/// <summary>A setting or input the user gave cannot be used; printed as one line, exit code 2.</summary>
/// <remarks>
/// The message goes through <see cref="SecretText.RedactText"/>: the places that build one redact the values they
/// quote, and this catches a URL or <c>password=…</c> that came in with an adapter's or library's text.
/// </remarks>
internal sealed class SettingException(string message) : Exception(SecretText.RedactText(message));
