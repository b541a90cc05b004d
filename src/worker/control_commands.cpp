#include "worker/control_commands.hpp"

#include "base/json_writer.hpp"
#include "worker/control_server.hpp"
#include "worker/duration.hpp"
#include "worker/worker.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <json/json.h>

#include <memory>
#include <optional>
#include <stdexcept>

namespace swarm::worker {

namespace {

std::string suspensionJson(const std::string& why) {
    return base::JsonObject().add("suspended", !why.empty()).add("why", why).str();
}

// The daemon's JSON line, or its error, as one line for people.
std::string described(const std::string& reply, bool suspending) {
    Json::Value v;
    Json::CharReaderBuilder builder;
    std::string errors;
    std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    if (!reader->parse(reply.data(), reply.data() + reply.size(), &v, &errors) || !v.isObject())
        throw std::runtime_error("the worker answered something else: " + reply.substr(0, 200));
    if (v.isMember("error"))
        throw std::runtime_error("the worker refused: " + v["error"].asString());
    const auto why = v["why"].asString();
    if (suspending)
        return "suspended: " + why;
    return why.empty() ? "resumed" : "resumed by the volunteer; still suspended: " + why;
}

int sendAndPrint(const cli::Globals& g, const ControlRequest& request) {
    auto reply = sendControl(controlSocketPath(g.home), request);
    if (g.json)
        fmt::print("{}\n", reply);
    else
        fmt::print("{}\n", described(reply, request.kind == ControlRequest::Kind::kSuspend));
    return 0;
}

} // namespace

std::string answerControl(Worker& worker, const ControlRequest& request) {
    switch (request.kind) {
    case ControlRequest::Kind::kStatus:
        return worker.status().json();
    case ControlRequest::Kind::kStatusText:
        return worker.status().text();
    case ControlRequest::Kind::kSuspend:
        return suspensionJson(worker.suspend(request.forMs));
    case ControlRequest::Kind::kResume:
        return suspensionJson(worker.resume());
    }
    return base::JsonObject().add("error", "unknown request").str();
}

cli::Command suspendCommand() {
    return {"suspend",
            "freeze the running daemon's units and take no new work, until 'resume' or for a "
            "while",
            [](CLI::App& app) -> cli::Action {
                auto forText = std::make_shared<std::optional<std::string>>();
                app.add_option("--for", *forText,
                               "resume by itself after this long, like 30m, 2h or 90s")
                    ->type_name("DURATION");
                return [forText](const cli::Globals& g) {
                    ControlRequest r{ControlRequest::Kind::kSuspend};
                    if (*forText) {
                        r.forMs = parseDurationMs(**forText);
                        if (!r.forMs)
                            throw cli::UsageError(
                                "--for wants a duration like 30m, 2h, 90s or 1d (got '" +
                                **forText + "')");
                    }
                    return sendAndPrint(g, r);
                };
            }};
}

cli::Command resumeCommand() {
    return {"resume", "end a suspension asked for with 'suspend' (busy or user active remain)",
            [](CLI::App&) -> cli::Action {
                return [](const cli::Globals& g) {
                    return sendAndPrint(g, ControlRequest{ControlRequest::Kind::kResume});
                };
            }};
}

} // namespace swarm::worker
