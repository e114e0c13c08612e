// `hutch network create|ls|inspect|rm`: bridge networks kept under the data root.
#include <sys/stat.h>

#include <cstdio>
#include <set>
#include <iostream>
#include <nlohmann/json.hpp>

#include "netns/firewall.hpp"
#include "netns/host_config.hpp"
#include "netns/network.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/go_template.hpp"
#include "runtime/error.hpp"

namespace hutch::cli {
namespace {

net::NetworkStore open_store(const Globals& globals) {
    Paths paths = globals.paths;
    return net::NetworkStore(paths.data_root, net::read_host_config(globals.config_path).bridge,
                             [paths](const std::string& id) { return container_running(paths, id); });
}

// -o KEY=VALUE of `network create`: the bridge driver options of Docker's that hutch has.
void apply_driver_option(net::NetworkOptions& options, const std::string& option) {
    const auto eq = option.find('=');
    const std::string key = option.substr(0, eq), value = eq == std::string::npos ? "" : option.substr(eq + 1);
    bool* target = key == "com.docker.network.bridge.enable_ip_masquerade" ? &options.masquerade
                   : key == "com.docker.network.bridge.enable_icc"         ? &options.icc
                                                                           : nullptr;
    if (!target)
        throw UsageError("unsupported network option \"" + option + "\": hutch knows com.docker.network.bridge."
                         "enable_ip_masquerade and com.docker.network.bridge.enable_icc");
    // Go's strconv.ParseBool, as Docker reads it.
    static const std::set<std::string> yes = {"1", "t", "T", "TRUE", "true", "True"};
    static const std::set<std::string> no = {"0", "f", "F", "FALSE", "false", "False"};
    if (!yes.count(value) && !no.count(value))
        throw UsageError("invalid option \"" + option + "\": " + key + " must be true or false");
    *target = yes.count(value) > 0;
}

// The network's rules in hutch's nftables table, and whether they are in the kernel now (they
// are made with the network, and again by the next start after a reboot dropped them).
nlohmann::json firewall(const Globals& globals, const net::NetworkConfig& n) {
    if (!net::read_host_config(globals.config_path).bridge.firewall)
        return {{"Table", nullptr}, {"Note", "the host config says \"iptables\": false: hutch keeps no rules"}};
    net::NetworkFirewall wanted{n.bridge, n.subnet, n.internal, n.masquerade};
    return {{"Table", "ip hutch"}, {"Present", net::firewall_present(n.bridge)}, {"Rules", net::firewall_rules(wanted)}};
}

nlohmann::json inspect(const Globals& globals, net::NetworkStore& store, const net::NetworkConfig& n) {
    nlohmann::json containers = nlohmann::json::object();
    for (const auto& e : store.endpoints(n))
        containers[e.container_id] = {{"Name", e.container_name},
                                      {"IPv4Address", e.address.str() + "/" + std::to_string(n.subnet.prefix)},
                                      {"MacAddress", net::mac_string(e.mac)},
                                      {"Aliases", e.aliases}};
    return {{"Name", n.name},
            {"Id", n.id},
            {"Created", n.created},
            {"Driver", "bridge"},
            {"IPAM", {{"Driver", "default"}, {"Config", {{{"Subnet", n.subnet.str()}, {"Gateway", n.gateway.str()}}}}}},
            {"Internal", n.internal},
            {"Containers", containers},
            {"Options", {{"com.docker.network.bridge.name", n.bridge},
                         {"com.docker.network.bridge.enable_ip_masquerade", n.masquerade ? "true" : "false"},
                         {"com.docker.network.bridge.enable_icc", n.icc ? "true" : "false"}}},
            {"Firewall", firewall(globals, n)}};
}

}  // namespace

void add_network_command(CLI::App& app, const Globals& globals, int& exit_code) {
    auto* network = app.add_subcommand("network", "Manage networks");
    network->require_subcommand(1);

    auto* create = network->add_subcommand("create", "Create a bridge network");
    auto name = std::make_shared<std::string>();
    auto subnet = std::make_shared<std::string>();
    auto options = std::make_shared<net::NetworkOptions>();
    auto driver_options = std::make_shared<std::vector<std::string>>();
    create->add_option("--subnet", options->subnet, "Subnet in CIDR format (default: a free /24 of 10.89.0.0/16)");
    create->add_option("--gateway", options->gateway, "Gateway address (default: the subnet's first host)");
    create->add_flag("--internal", options->internal, "Restrict external access to the network (no way out)");
    create->add_option("-o,--opt", *driver_options, "Driver option, e.g. com.docker.network.bridge.enable_ip_masquerade=false");
    create->add_option("NAME", *name, "Network name")->required();
    create->callback([&globals, &exit_code, name, options, driver_options]() {
        for (const auto& o : *driver_options) apply_driver_option(*options, o);
        net::NetworkStore store = open_store(globals);
        std::printf("%s\n", store.create(*name, *options).id.c_str());
        exit_code = 0;
    });

    auto* ls = network->add_subcommand("ls", "List networks");
    ls->alias("list");
    auto ls_quiet = std::make_shared<bool>(false);
    auto ls_no_trunc = std::make_shared<bool>(false);
    auto ls_format = std::make_shared<std::string>();
    ls->add_flag("-q,--quiet", *ls_quiet, "Only display network IDs");
    ls->add_flag("--no-trunc", *ls_no_trunc, "Do not truncate the output");
    ls->add_option("--format", *ls_format, "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template");
    ls->callback([&globals, &exit_code, ls_quiet, ls_no_trunc, ls_format]() {
        // docker network ls's fields, and hutch's SUBNET and BRIDGE (the bridge a lab looks at
        // with `ip link`) in its default table.
        const go_template::Listing listing(*ls_format, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Subnet}}\t{{.Bridge}}");
        net::NetworkStore store = open_store(globals);
        std::vector<nlohmann::json> rows;
        for (const auto& n : store.list()) {
            std::string id = *ls_no_trunc ? n.id : n.id.substr(0, 12);
            if (*ls_quiet) {
                std::printf("%s\n", id.c_str());
                continue;
            }
            rows.push_back({{"ID", id}, {"Name", n.name}, {"Driver", "bridge"}, {"Scope", "local"},
                            {"IPv6", "false"}, {"Internal", n.internal ? "true" : "false"}, {"Labels", ""},
                            {"CreatedAt", n.created}, {"Subnet", n.subnet.str()}, {"Bridge", n.bridge}});
        }
        if (!*ls_quiet)
            std::cout << listing.render({{"ID", "NETWORK ID"}, {"Name", "NAME"}, {"Driver", "DRIVER"}, {"Scope", "SCOPE"},
                                         {"IPv6", "IPV6"}, {"Internal", "INTERNAL"}, {"Labels", "LABELS"},
                                         {"CreatedAt", "CREATED AT"}, {"Subnet", "SUBNET"}, {"Bridge", "BRIDGE"}},
                                        rows);
        exit_code = 0;
    });

    auto* inspect_cmd = network->add_subcommand("inspect", "Show networks as JSON");
    auto inspect_names = std::make_shared<std::vector<std::string>>();
    inspect_cmd->add_option("NAME", *inspect_names, "Network names")->required();
    inspect_cmd->callback([&globals, &exit_code, inspect_names]() {
        net::NetworkStore store = open_store(globals);
        nlohmann::json out = nlohmann::json::array();
        for (const auto& n : *inspect_names) out.push_back(inspect(globals, store, store.get(n)));
        std::cout << out.dump(4) << std::endl;
        exit_code = 0;
    });

    auto* rm = network->add_subcommand("rm", "Remove networks (refused while a container uses one)");
    rm->alias("remove");
    auto rm_names = std::make_shared<std::vector<std::string>>();
    rm->add_option("NAME", *rm_names, "Network names")->required();
    rm->callback([&globals, &exit_code, rm_names]() {
        net::NetworkStore store = open_store(globals);
        exit_code = 0;
        for (const auto& n : *rm_names) {
            try {
                std::string kept = store.remove(n);
                std::printf("%s\n", n.c_str());
                if (!kept.empty()) std::fprintf(stderr, "hutch: %s\n", kept.c_str());
            } catch (const Error& e) {
                std::fprintf(stderr, "hutch: %s\n", e.what());
                exit_code = e.exit_code();
            }
        }
    });
}

}  // namespace hutch::cli
