using CsCheck;
using Gateway.Dpop;
using Gateway.Policy;
using Gateway.Testing;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Gateway.Tests.Hostile;

/// <summary>No proof a client can send makes the DPoP validator throw, and only the key holder's own unmodified proof is valid.</summary>
public sealed class DpopProofProperties(ITestOutputHelper output)
{
    private const string Uri = "https://gw.test/crm/customers/42";
    private const string AccessToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

    [Fact]
    public void Validate_RandomAndMutatedProofs_AreNeverValid()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero));
        using var key = TestDpopKey.Create();
        var validator = new DpopProofValidator(new DpopSettings(), null, time);
        var original = key.Proof("GET", Uri, AccessToken, time.GetUtcNow());
        Assert.True(Validate(validator, original, key.Thumbprint).IsValid);
        var cases = Gen.OneOf(
            Gen.String,
            Gen.Select(Gen.Int[0, 7], Gen.Int[0, original.Length - 1], Gen.Char["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ %"], Gen.Int[1, 40])
                .Select(m => TokenParserProperties.Mutate(original, m.Item1, m.Item2, m.Item3, m.Item4)));

        Fuzz.Run(output, "dpop-proof-mutated", cases, 3_000, proof =>
        {
            if (proof == original)
            {
                return;
            }

            var result = Validate(validator, proof, key.Thumbprint);
            Assert.False(result.IsValid, "a mutated proof was accepted");
            Assert.False(string.IsNullOrEmpty(result.Reason));
        });
    }

    [Fact]
    public void Normalize_RandomUris_NeverThrowsAndIsIdempotent()
    {
        var uris = Gen.OneOf(
            Gen.String,
            Gen.Char["hHtTpPsS:/?#[]@!$&'()*+,;=%0123456789aAfF.-_~gw\u00e9 \\"].Array[0, 80].Select(c => "https://" + new string(c)),
            Gen.Char["hHtTpPsS:/?#[]@%0123456789aAfF.-_~\u00e9"].Array[0, 80].Select(c => new string(c)));

        Fuzz.Run(output, "dpop-htu-normalize", uris, 5_000, uri =>
        {
            var once = DpopUri.Normalize(uri);
            if (once is not null)
            {
                Assert.Equal(once, DpopUri.Normalize(once));
                Assert.StartsWith("http", once, StringComparison.Ordinal);
                Assert.DoesNotContain('?', once);
                Assert.DoesNotContain('#', once);
            }
        });
    }

    private static DpopProofResult Validate(DpopProofValidator validator, string proof, string thumbprint) =>
        validator.Validate(new DpopProofRequest(new StringValues(proof), "GET", DpopUri.Normalize(Uri), AccessToken, thumbprint));
}
