using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Bcm.Checkpoints;
using Bcm.Plans;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Bcm.Studio;

/// <summary>
/// <c>bcm studio</c>: one static page (served from this assembly) and a small JSON API over the library's editing entry
/// points, for one loaded model. Requests are evaluated one at a time in arrival order; bad requests get HTTP 400 with
/// the CLI's message; the server writes no files.
/// </summary>
public static class StudioServer
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, // a misspelt field is an error, not a silent default
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // plans keep their '>' readable; served as JSON, never inlined in HTML
    };

    /// <summary>
    /// The studio's web application for <paramref name="options"/>, not yet started. <paramref name="configure"/> sets
    /// where it listens (the CLI: <c>http://127.0.0.1:PORT</c>) or swaps in a test server.
    /// </summary>
    public static WebApplication Build(StudioOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        var operations = new Operations(options);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBytes);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (BadHttpRequestException e) when (!context.Response.HasStarted) // e.g. a body over Kestrel's limit
            {
                await Error(context.Response, e.StatusCode, e.Message);
            }
            catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                await Error(context.Response, 500, $"internal error ({e.GetType().Name}): {e.Message} — please report it");
            }
        });
        MapPage(app);
        MapApi(app, operations, new EvaluationQueue(), options);
        return app;
    }

    private static void MapPage(WebApplication app)
    {
        foreach (var (route, file, type) in new[] { ("/", "index.html", "text/html; charset=utf-8"), ("/app.js", "app.js", "text/javascript; charset=utf-8"),
                     ("/style.css", "style.css", "text/css; charset=utf-8") })
        {
            var bytes = Resource(file);
            app.MapGet(route, () => Results.Bytes(bytes, type));
        }
    }

    private static byte[] Resource(string file)
    {
        using var stream = typeof(StudioServer).Assembly.GetManifestResourceStream("Bcm.Studio.wwwroot." + file)
                           ?? throw new InvalidOperationException($"the studio page's {file} is missing from the assembly");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    private static void MapApi(WebApplication app, Operations operations, EvaluationQueue queue, StudioOptions options)
    {
        app.MapGet("/api/info", () => Results.Json(operations.Info(), Json));
        app.MapGet("/api/queue", (string? ticket) => Results.Json(new { length = queue.Length, position = ticket is null ? -1 : queue.Position(ticket) }, Json));
        app.MapGet("/api/test-image/{index}", (string index) =>
            Answer(() => int.TryParse(index, out int i) ? Results.Bytes(operations.TestImage(i), "image/png") : throw new BadInputException($"test image '{index}': not an index")));
        app.MapPost("/api/plan", async (HttpContext context) =>
        {
            try
            {
                return Results.Json(operations.CheckPlan(await Read<PlanRequest>(context, options.MaxRequestBytes)), Json);
            }
            catch (Exception e) when (IsBadInput(e))
            {
                return BadRequest(e.Message);
            }
        });
        MapEvaluation<SampleRequest>(app, "sample", operations.Sample, queue, options);
        MapEvaluation<InvertRequest>(app, "invert", operations.Invert, queue, options);
        MapEvaluation<InterpolateRequest>(app, "interpolate", operations.Interpolate, queue, options);
        MapEvaluation<InpaintRequest>(app, "inpaint", operations.Inpaint, queue, options);
        MapEvaluation<RestoreRequest>(app, "restore", operations.Restore, queue, options);
        MapEvaluation<EditRequest>(app, "edit", operations.Edit, queue, options);
    }

    // POST /api/NAME: read the request, wait for the model, run, answer with the result and the time the evaluation took.
    private static void MapEvaluation<TRequest>(WebApplication app, string name, Func<TRequest, CancellationToken, StudioResult> operation,
        EvaluationQueue queue, StudioOptions options) where TRequest : class
    {
        app.MapPost("/api/" + name, async (HttpContext context) =>
        {
            var aborted = context.RequestAborted;
            // Work stops when the client goes away (a waiting request leaves the queue) or when the request's time is up.
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            limit.CancelAfter(options.MaxRequestTime);
            try
            {
                var request = await Read<TRequest>(context, options.MaxRequestBytes);
                string ticket = context.Request.Headers["X-Bcm-Ticket"].ToString() is { Length: > 0 and <= 64 } t ? t : Guid.NewGuid().ToString("N");
                var result = await queue.Run(ticket, cancel =>
                {
                    var clock = Stopwatch.StartNew();
                    return operation(request, cancel) with { Milliseconds = clock.Elapsed.TotalMilliseconds };
                }, limit.Token);
                return Results.Json(result, Json);
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && !aborted.IsCancellationRequested)
            {
                return Results.Json(new { error = $"the request took longer than the studio's {options.MaxRequestTime.TotalSeconds:N0} s (waiting included) and was stopped; " +
                                                  "ask for fewer images or steps, or try again when the queue is shorter" }, Json, statusCode: 503);
            }
            catch (Exception e) when (IsBadInput(e))
            {
                return BadRequest(e.Message);
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                return Results.StatusCode(499); // the client went away; nobody reads this
            }
        });
    }

    private static IResult Answer(Func<IResult> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsBadInput(e))
        {
            return BadRequest(e.Message);
        }
    }

    // The exceptions the CLI reports as bad input (exit code 2) are bad requests here.
    private static bool IsBadInput(Exception e) => BadInputException.Is(e) || e is JsonException;

    private static IResult BadRequest(string message) => Results.Json(new { error = message }, Json, statusCode: 400);

    private static Task Error(HttpResponse response, int status, string message)
    {
        response.StatusCode = status;
        return response.WriteAsJsonAsync(new { error = message }, Json);
    }

    // The body as JSON, at most maxBytes of it.
    private static async Task<T> Read<T>(HttpContext context, long maxBytes) where T : class
    {
        if (context.Request.ContentLength > maxBytes) throw new BadInputException($"the request is {context.Request.ContentLength:N0} bytes; at most {maxBytes:N0} are accepted");
        using var body = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            if (body.Length + read > maxBytes) throw new BadInputException($"the request is more than the {maxBytes:N0} bytes accepted");
            body.Write(buffer, 0, read);
        }
        if (body.Length == 0) throw new BadInputException("empty request: send the fields as JSON");
        try
        {
            return JsonSerializer.Deserialize<T>(body.ToArray(), Json) ?? throw new BadInputException("the request is null: send the fields as JSON");
        }
        catch (JsonException e)
        {
            throw new BadInputException($"the request is not valid: {e.Message}");
        }
    }
}
