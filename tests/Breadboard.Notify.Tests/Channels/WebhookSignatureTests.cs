using System.Text;
using Breadboard.Notify.Channels;
using CsCheck;

namespace Breadboard.Notify.Tests.Channels;

public class WebhookSignatureTests
{
    private const string Secret = "whsec_test";
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_767_364_200);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"id":"abc","alerts":[]}""");

    [Fact]
    public void Sign_GivesTimestampAndHexHmac() =>
        Assert.Matches("^t=1767364200,v1=[0-9a-f]{64}$", WebhookSignature.Sign(Secret, Now, Body));

    [Theory]
    [InlineData(null, SignatureCheck.Missing)]
    [InlineData("", SignatureCheck.Missing)]
    [InlineData("garbage", SignatureCheck.Malformed)]
    [InlineData("t=1767364200", SignatureCheck.Malformed)]
    [InlineData("v1=00", SignatureCheck.Malformed)]
    [InlineData("t=soon,v1=0000000000000000000000000000000000000000000000000000000000000000", SignatureCheck.Malformed)]
    [InlineData("t=1767364200,v1=zz00000000000000000000000000000000000000000000000000000000000000", SignatureCheck.Malformed)]
    [InlineData("t=1767364200,v1=0000000000000000000000000000000000000000000000000000000000000000", SignatureCheck.Mismatch)]
    public void Verify_WithMissingGarbledOrForgedHeader_Refuses(string? header, SignatureCheck expected) =>
        Assert.Equal(expected, WebhookSignature.Verify(Secret, header, Body, Now));

    [Fact]
    public void Verify_WithAnotherSecret_IsMismatch() =>
        Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify("other", WebhookSignature.Sign(Secret, Now, Body), Body, Now));

    [Theory]
    [InlineData(-301, SignatureCheck.Stale)]
    [InlineData(-300, SignatureCheck.Valid)]
    [InlineData(300, SignatureCheck.Valid)]
    [InlineData(301, SignatureCheck.Stale)]
    public void Verify_OutsideTheTolerance_IsStale(int signedSecondsFromNow, SignatureCheck expected) =>
        Assert.Equal(expected, WebhookSignature.Verify(Secret, WebhookSignature.Sign(Secret, Now.AddSeconds(signedSecondsFromNow), Body), Body, Now));

    [Fact]
    public void Verify_WithLongerTolerance_AcceptsOlderSignatures() =>
        Assert.Equal(
            SignatureCheck.Valid,
            WebhookSignature.Verify(Secret, WebhookSignature.Sign(Secret, Now.AddHours(-1), Body), Body, Now, TimeSpan.FromHours(2)));

    [Fact]
    public void Verify_WithOldAndNewSecretDuringRotation_AcceptsEither()
    {
        var v1Old = WebhookSignature.Sign("old-secret", Now, Body).Split(',')[1];
        var header = WebhookSignature.Sign("new-secret", Now, Body) + "," + v1Old + ",v0=ignored";

        Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify("old-secret", header, Body, Now));
        Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify("new-secret", header, Body, Now));
    }

    [Fact]
    public void SignThenVerify_ForAnyBodySecretAndTime_IsValid() =>
        Gen.Select(Gen.Byte.Array[0, 2000], Gen.String[1, 64], Gen.Long[0, 4_000_000_000]).Sample(
            (body, secret, seconds) =>
            {
                var at = DateTimeOffset.FromUnixTimeSeconds(seconds);
                Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(secret, WebhookSignature.Sign(secret, at, body), body, at));
            },
            iter: 2_000);

    [Fact]
    public void Verify_AfterAnySingleByteChange_IsMismatch() =>
        Gen.Select(Gen.Byte.Array[1, 2000], Gen.String[1, 64], Gen.Int.Positive, Gen.Byte[1, 255]).Sample(
            (body, secret, position, flip) =>
            {
                var header = WebhookSignature.Sign(secret, Now, body);
                var changed = (byte[])body.Clone();
                changed[position % changed.Length] ^= flip;
                Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify(secret, header, changed, Now));
            },
            iter: 2_000);
}
