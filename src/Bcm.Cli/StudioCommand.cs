using System.CommandLine;
using System.Net;
using Bcm.Studio;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Bcm.Cli;

/// <summary><c>bcm studio</c>: the editing applications in a local web page.</summary>
internal static class StudioCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "Port to listen on; 0 picks a free one (default 8080)", DefaultValueFactory = _ => 8080 };
        var host = new Option<string>("--host")
        {
            Description = "Address to listen on (default 127.0.0.1: this machine only). Another address exposes the model to the network: do so only on one you trust",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var data = new Option<string?>("--data", "-d") { Description = "Data set whose test images the page offers (default the run's own data): " + Bcm.Data.DataSources.Help };
        var cmd = new Command("studio", "Serve the editing applications in a local web page: sample with any plan, invert, interpolate between two images, " +
                                        "inpaint with a brush-drawn mask, restore a JPEG, guided edits by painting. One request is evaluated at a time; Ctrl-C stops.")
        {
            Common.Checkpoint, Common.Weights, Common.Preset, Common.Device, Common.Threads, Common.Engine, port, host, data,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            int p = parse.GetValue(port);
            if (p is < 0 or > 65535) throw new BadInputException($"--port {p}: a port is 0..65535 (0 picks a free one)");
            string h = parse.GetValue(host)!;
            if (!IPAddress.TryParse(h, out var address) && h != "localhost") throw new BadInputException($"--host '{h}': give an IP address (127.0.0.1, ::1, 0.0.0.0) or localhost");
            using var loaded = Common.LoadImageModel(parse);
            var app = StudioServer.Build(new StudioOptions { Model = loaded, Data = parse.GetValue(data) },
                b => b.WebHost.UseUrls($"http://{(address is { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } ? $"[{h}]" : h)}:{p}"));
            try
            {
                app.StartAsync().GetAwaiter().GetResult();
            }
            catch (IOException e)
            {
                throw new BadInputException($"cannot listen on {h}:{p}: {e.Message} (choose another --port, or 0 for a free one)");
            }
            var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            if (address is not null && !IPAddress.IsLoopback(address))
                Console.Error.WriteLine($"bcm: warning: listening on {h}: anyone who can reach this machine can use the model");
            Console.WriteLine($"bcm studio: {url}/ serves {loaded.Source} — open it in a browser; Ctrl-C stops");
            app.WaitForShutdownAsync().GetAwaiter().GetResult();
            return 0;
        }));
        return cmd;
    }
}
