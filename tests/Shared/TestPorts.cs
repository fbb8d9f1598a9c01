using System.Net;
using System.Net.Sockets;

namespace Slovo.TestSupport;

/// <summary>Ports for the tests that start process groups on 127.0.0.1.</summary>
internal static class TestPorts
{
    /// <summary>A TCP port free on the loopback interface now (the operating system's pick).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
