using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Bcm.Plans;
using Bcm.Studio;
using Bcm.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Xunit;
using Xunit.Abstractions;

namespace Bcm.Tests;

/// <summary>
/// No request can stall the studio: plans are parsed in linear time under caps a person never reaches, each request's
/// time is bounded, and while one client sends the largest hostile plans the body cap allows, another's one-step
/// sample keeps coming back.
/// </summary>
public sealed class StudioLoadTests(ITestOutputHelper output)
{
    private static async Task<(WebApplication App, HttpClient Client, ModelLoader.Loaded Model)> Start(TimeSpan? maxRequestTime = null)
    {
        var model = ModelLoader.Load(TestModels.TinyRun.Value);
        var options = new StudioOptions { Model = model, Data = "" };
        if (maxRequestTime is TimeSpan t) options = options with { MaxRequestTime = t };
        var app = StudioServer.Build(options, b => b.WebHost.UseTestServer());
        await app.StartAsync();
        return (app, app.GetTestClient(), model);
    }

    // Plans of about 7.9 MB (under the 8 MiB body cap): one long chain, and many short tokens.
    public static TheoryData<string> HostilePlans => ["chain", "tokens"];

    private static string Hostile(string kind, int chars) => kind == "chain"
        ? "80" + string.Concat(Enumerable.Repeat(">1", chars / 2)) + ">0.002"
        : string.Concat(Enumerable.Repeat("80>0.002 ", chars / 9));

    [Fact]
    public void ParsingIsLinearAndCapped()
    {
        // At the caps: the longest text accepted parses, one character more is refused with the cap in the message.
        string longest = "80>0.002" + string.Concat(Enumerable.Repeat(" +1 1>0.002", (Plan.MaxTextLength - 8) / 11));
        Assert.True(longest.Length <= Plan.MaxTextLength);
        var clock = Stopwatch.StartNew();
        var plan = Plan.Parse(longest);
        Assert.True(plan.Steps.Count <= Plan.MaxTextSteps);
        var tooLong = Assert.Throws<PlanException>(() => Plan.Parse(longest + new string(' ', Plan.MaxTextLength)));
        Assert.Contains("at most 4,096", tooLong.Message);
        var tooMany = Assert.Throws<PlanException>(() => Plan.Parse("80" + string.Concat(Enumerable.Repeat(">1>2", 600)) + ">0.002"));
        Assert.Contains($"more than {Plan.MaxTextSteps:N0} steps", tooMany.Message);
        // An error at the last token of the longest plan is located without a pass per step (quadratic before).
        var late = Assert.Throws<PlanException>(() => Plan.Parse(longest[..^5] + "0.001"));
        Assert.Contains("token", late.Message);
        output.WriteLine($"parsed and refused at the caps in {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Theory]
    [MemberData(nameof(HostilePlans))]
    public async Task AnEightMegabytePlanIsRefusedAndAnotherClientIsAnsweredMeanwhile(string kind)
    {
        var (app, client, model) = await Start();
        try
        {
            var hostileBody = "{\"plan\": \"" + Hostile(kind, 7_900_000) + "\", \"count\": 1}"; // '>' unescaped, as a browser sends it
            Assert.InRange(Encoding.UTF8.GetByteCount(hostileBody), 7_800_000, 8L << 20);
            using var stop = new CancellationTokenSource();
            int refused = 0;
            var attacker = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    using var response = await client.PostAsync("/api/sample", new StringContent(hostileBody, Encoding.UTF8, "application/json"));
                    var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                    Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                    Assert.Contains("at most 4,096", body.GetProperty("error").GetString());
                    Interlocked.Increment(ref refused);
                }
            });
            var latencies = new List<double>();
            for (int i = 0; i < 10; i++)
            {
                var clock = Stopwatch.StartNew();
                using var response = await client.PostAsJsonAsync("/api/sample", new { plan = "onestep", count = 1, seed = i });
                latencies.Add(clock.Elapsed.TotalMilliseconds);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            stop.Cancel();
            await attacker;
            Assert.True(refused >= 1, "the hostile client got no answer");
            latencies.Sort();
            output.WriteLine($"{kind}: {refused} hostile plans refused; probe latency median {latencies[5]:F0} ms, max {latencies[^1]:F0} ms");
            // A generous bound (the probe takes milliseconds): before plans were capped and parsed in linear time, one
            // such plan held the queue for hours.
            Assert.True(latencies[^1] < 10_000, $"a probe waited {latencies[^1]:F0} ms");
        }
        finally
        {
            await app.DisposeAsync();
            model.Dispose();
        }
    }

    [Fact]
    public async Task ARequestOverItsTimeIsStoppedWith503AndTheNextOneRuns()
    {
        var (app, client, model) = await Start(maxRequestTime: TimeSpan.FromMilliseconds(1));
        try
        {
            using var response = await client.PostAsJsonAsync("/api/sample", new { plan = "ancestral:100", count = 64 });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains("took longer than", body.GetProperty("error").GetString());
            var queue = await client.GetFromJsonAsync<JsonElement>("/api/queue");
            Assert.Equal(0, queue.GetProperty("length").GetInt32()); // the stopped request left the queue
        }
        finally
        {
            await app.DisposeAsync();
            model.Dispose();
        }
    }
}
