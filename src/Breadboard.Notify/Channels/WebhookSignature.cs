using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Breadboard.Notify.Channels;

/// <summary>The outcome of <see cref="WebhookSignature.Verify"/>; only <see cref="Valid"/> means the body can be trusted.</summary>
public enum SignatureCheck
{
    Valid,

    /// <summary>No <c>Breadboard-Signature</c> header.</summary>
    Missing,

    /// <summary>The header is not <c>t=&lt;unix seconds&gt;,v1=&lt;64 hex digits&gt;</c>.</summary>
    Malformed,

    /// <summary>No <c>v1</c> matches: another secret, or a changed body or timestamp.</summary>
    Mismatch,

    /// <summary>Authentic but signed further from now than the tolerance: a replay, or a badly skewed clock.</summary>
    Stale,
}

/// <summary>
/// Signs and verifies webhook bodies the way Stripe does: <c>Breadboard-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256&gt;</c>,
/// the HMAC keyed with the shared secret (UTF-8) over <c>"&lt;t&gt;." + body</c>.
/// </summary>
/// <remarks>
/// Signing the timestamp with the body lets a receiver refuse old deliveries, so a captured request cannot be replayed
/// later. A receiver must verify the raw bytes it received, before parsing them: re-serialised JSON will not match.
/// </remarks>
public static class WebhookSignature
{
    public const string Header = "Breadboard-Signature";
    public const string DeliveryIdHeader = "Breadboard-Delivery-Id";

    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    private const int HashBytes = 32;

    /// <summary>The <c>Breadboard-Signature</c> header value for <paramref name="body"/> sent at <paramref name="timestamp"/>.</summary>
    public static string Sign(string secret, DateTimeOffset timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        var t = timestamp.ToUnixTimeSeconds();
        return string.Create(CultureInfo.InvariantCulture, $"t={t},v1={Convert.ToHexStringLower(Mac(secret, t, body))}");
    }

    /// <summary>Checks a received header against the raw body.</summary>
    /// <param name="now">The receiver's clock.</param>
    /// <param name="tolerance">How far the signed time may be from <paramref name="now"/>, either way; <see cref="DefaultTolerance"/> when null.</param>
    /// <remarks>Several <c>v1</c> entries are allowed (any may match), so a sender can sign with the old and new secret while it is rotated.</remarks>
    public static SignatureCheck Verify(string secret, string? header, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan? tolerance = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        if (string.IsNullOrWhiteSpace(header))
        {
            return SignatureCheck.Missing;
        }

        long? t = null;
        var signatures = new List<byte[]>();
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                return SignatureCheck.Malformed;
            }

            var key = part[..eq];
            var value = part[(eq + 1)..];
            if (key == "t")
            {
                if (t is not null || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                    || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
                {
                    return SignatureCheck.Malformed;
                }

                t = seconds;
            }
            else if (key == "v1")
            {
                if (value.Length != HashBytes * 2)
                {
                    return SignatureCheck.Malformed;
                }

                var bytes = new byte[HashBytes];
                if (Convert.FromHexString(value, bytes, out _, out _) != System.Buffers.OperationStatus.Done)
                {
                    return SignatureCheck.Malformed;
                }

                signatures.Add(bytes);
            }

            // Other schemes (a future v2) are ignored, as Stripe's receivers do.
        }

        if (t is not { } signedAt || signatures.Count == 0)
        {
            return SignatureCheck.Malformed;
        }

        var expected = Mac(secret, signedAt, body);
        var match = false;
        foreach (var signature in signatures)
        {
            // Constant time, so response timing does not reveal how many leading bytes of a forgery were right.
            match |= CryptographicOperations.FixedTimeEquals(signature, expected);
        }

        if (!match)
        {
            return SignatureCheck.Mismatch;
        }

        var age = now - DateTimeOffset.FromUnixTimeSeconds(signedAt);
        return age.Duration() <= (tolerance ?? DefaultTolerance) ? SignatureCheck.Valid : SignatureCheck.Stale;
    }

    private static byte[] Mac(string secret, long t, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{t}."));
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
    }
}
