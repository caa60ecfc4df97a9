using System.CommandLine;
using Gateway.Tokens;

namespace Gateway.Host.Commands;

/// <summary><c>gateway keys generate</c>: a private JWK and the matching public JWKS.</summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var alg = new Option<string>("--alg") { Description = "ES256, EdDSA, Ed25519 (RFC 9864's name for EdDSA), RS256 or PS256.", Required = true };
        alg.AcceptOnlyFromAmong(JwsAlgorithms.Supported.ToArray());
        var kid = new Option<string>("--kid") { Description = "Key id (kid) to put in tokens and the JWKS.", Required = true };
        var output = new Option<string>("--out") { Description = "Folder to write KID-private.jwk and KID.jwks.json into.", Required = true };
        var generate = new Command("generate", "Generate a signing key pair: a private JWK (mode 0600) and a public JWKS.") { alg, kid, output };
        generate.SetAction(async (result, _) =>
        {
            var directory = result.GetValue(output)!;
            Directory.CreateDirectory(directory);
            var pair = KeyGenerator.Generate(result.GetValue(alg)!, result.GetValue(kid)!);
            try
            {
                var (privatePath, publicPath) = pair.WriteTo(directory, result.GetValue(kid)!);
                await Console.Out.WriteLineAsync($"private key: {privatePath}");
                await Console.Out.WriteLineAsync($"public JWKS: {publicPath}");
                return 0;
            }
            catch (IOException ex)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return 1;
            }
        });

        return new Command("keys", "Work with signing keys.") { generate };
    }
}
