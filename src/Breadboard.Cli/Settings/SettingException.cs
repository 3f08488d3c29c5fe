namespace Breadboard.Cli.Settings;

/// <summary>A setting or input the user gave cannot be used; printed as one line, exit code 2.</summary>
internal sealed class SettingException(string message) : Exception(message);
