namespace Slovo.Cli.Tests;

[Collection("cli")] // the command writes to the console; run these one at a time
public class ServeCommandTests
{
    [Fact]
    public void ServeExplainsWhatItNeedsBeforeListening()
    {
        Assert.Contains("--chat-template", Cli.Ok("serve", "--help"));
        Assert.Contains("give a model to serve", Cli.Fails(2, ["serve"]));
        string missing = Path.Combine(Path.GetTempPath(), "slovo-no-such-model");
        Assert.Contains("does not exist", Cli.Fails(1, ["serve", "--model", missing]));
        Assert.Contains("--port", Cli.Fails(2, ["serve", "--model", missing, "--port", "70000"]));
        Assert.Contains("--device", Cli.Fails(2, ["serve", "--model", missing, "--device", "tpu"]));
    }
}
