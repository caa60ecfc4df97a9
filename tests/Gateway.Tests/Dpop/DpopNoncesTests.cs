using System.Security.Cryptography;
using Gateway.Dpop;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Dpop;

public sealed class DpopNoncesTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero));

    [Fact]
    public void IsFresh_NonceFromAnotherReplicaWithTheSameKey_IsAccepted()
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var replicaA = DpopNonces.FromConfiguredKey(key, _time);
        var replicaB = DpopNonces.FromConfiguredKey(key, _time);
        var other = DpopNonces.WithRandomKey(_time);

        var nonce = replicaA.Issue();

        Assert.Matches("^[A-Za-z0-9_-]{32}$", nonce);
        Assert.True(replicaB.IsFresh(nonce, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(5)));
        Assert.False(other.IsFresh(nonce, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void IsFresh_AfterItsLifetimeOrTampered_IsRefused()
    {
        var nonces = DpopNonces.WithRandomKey(_time);
        var nonce = nonces.Issue();
        var tampered = (nonce[0] == 'A' ? 'B' : 'A') + nonce[1..];

        Assert.False(nonces.IsFresh(tampered, TimeSpan.FromMinutes(5), TimeSpan.Zero));
        Assert.False(nonces.IsFresh(null, TimeSpan.FromMinutes(5), TimeSpan.Zero));
        Assert.False(nonces.IsFresh("short", TimeSpan.FromMinutes(5), TimeSpan.Zero));
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.True(nonces.IsFresh(nonce, TimeSpan.FromMinutes(5), TimeSpan.Zero));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(nonces.IsFresh(nonce, TimeSpan.FromMinutes(5), TimeSpan.Zero));
    }

    [Theory]
    [InlineData("c2hvcnQ=")]
    [InlineData("not base64 at all!")]
    public void FromConfiguredKey_ShortOrInvalidKey_Throws(string key)
    {
        var error = Assert.Throws<InvalidOperationException>(() => DpopNonces.FromConfiguredKey(key, _time));

        Assert.Contains("Gateway:Dpop:NonceKey", error.Message, StringComparison.Ordinal);
    }
}
