// Golden tests of the experiment-file layer: every assertion on a problem compares the whole
// text a user reads, location included.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/config/builtin_schema.h"
#include "core/config/content_hash.h"
#include "core/config/document.h"
#include "core/config/plan.h"
#include "core/config/yaml_to_json.h"
#include "tlr/names.h"
#include "tlr/registry.h"

namespace tlr::config {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("tlr_config_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::create_directories(dir_);
    file_ = (dir_ / "exp.yaml").string();
    registry_.backbone(
        "vgg", [](const Params&, const Context&) { return nullptr; },
        R"({"type": "object", "additionalProperties": false,
                           "properties": {
                             "variant": {"enum": ["vgg11", "vgg16", "vgg19"], "default": "vgg16"},
                             "width": {"type": "number", "exclusiveMinimum": 0, "default": 1.0},
                             "pool": {"type": "object", "properties": {
                               "kind": {"type": "string", "default": "max"},
                               "size": {"type": "integer", "default": 2}}}}})");
    registry_.backbone(
        "basic_cnn", [](const Params&, const Context&) { return nullptr; },
        R"({"type": "object", "properties": {
                             "filters": {"type": "array", "items": {"type": "integer"},
                                         "default": [16, 64, 128]}}})");
    registry_.backbone("resnet", [](const Params&, const Context&) { return nullptr; });
    registry_.strategy("scratch", [](const Params&, const Context&) { return nullptr; });
    registry_.strategy(
        "frozen", [](const Params&, const Context&) { return nullptr; },
        R"({"type": "object", "properties": {
                             "cache_features": {"type": "boolean", "default": true}}})");
    registry_.dataset(
        "idx", [](const Params&, const Context&) { return nullptr; },
        R"({"type": "object", "required": ["root"],
                          "properties": {"root": {"type": "string"}}})");
    registry_.head(
        "dense", [](const Params&, const Context&) { return nullptr; },
        R"({"type": "object", "properties": {
                         "units": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                         "dropout": {"type": "number", "minimum": 0, "maximum": 1,
                                     "default": 0.0}}})");
    registry_.augmenter(
        "keras_image", [](const Params&, const Context&) { return nullptr; },
        R"({"type": "object", "properties": {
                              "rotation_range": {"type": "number", "default": 0}}})");
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Loads `yaml` as exp.yaml with the repository's schema.
  Document Load(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
    std::ofstream(file_) << yaml;
    return load(file_, overrides, "schemas/experiment.schema.json");
  }
  Resolution Resolve(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
    return resolve(Load(yaml, overrides), &registry_);
  }
  // Writes `yaml` as `name` in the test's folder; returns its path.
  std::string Write(const std::string& name, const std::string& yaml) {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << yaml;
    return path.string();
  }
  // Diagnostics as printed, with the temporary folder left out ("exp.yaml", "base.yaml").
  std::string Text(const std::vector<Diagnostic>& diagnostics) const {
    return Short(format_diagnostics(diagnostics));
  }
  std::string Short(std::string text) const {
    const std::string folder = dir_.string() + "/";
    for (std::size_t at; (at = text.find(folder)) != std::string::npos;) {
      text.replace(at, folder.size(), "");
    }
    return text;
  }
  const ResolvedModel& Model(const Resolution& r, const std::string& name) {
    for (const ResolvedModel& m : r.plan.models) {
      if (m.name == name) return m;
    }
    ADD_FAILURE() << "no model " << name;
    static const ResolvedModel kNone;
    return kNone;
  }

  fs::path dir_;
  std::string file_;
  Registry registry_;
};

// A complete, valid experiment the tests vary.
const char* const kBase = R"(experiment: demo
defaults:
  data:
    dataset: {plugin: idx, params: {root: /data}}
  backbone: {plugin: vgg, params: {variant: vgg16}}
  head: {plugin: dense, params: {units: [512]}}
models:
  - name: scratch
    strategy: {plugin: scratch}
)";

TEST_F(ConfigTest, ValidFileHasNoDiagnostics) {
  const Resolution r = Resolve(kBase);
  EXPECT_EQ(Text(r.diagnostics), "");
  ASSERT_EQ(r.plan.models.size(), 1u);
  EXPECT_EQ(r.plan.experiment, "demo");
  EXPECT_EQ(r.plan.models[0].name, "scratch");
  EXPECT_EQ(r.plan.text, kBase);
}

TEST_F(ConfigTest, UnknownKeySuggestsNearest) {
  const Document d = Load(R"(models:
  - name: a
  - name: b
  - name: c
    backbon: {plugin: vgg}
)");
  EXPECT_EQ(Text(d.diagnostics),
            "exp.yaml:5:5: error: unknown key 'backbon' in models[2]; did you mean 'backbone'?\n");
}

TEST_F(ConfigTest, UnknownKeyWithoutCloseMatchHasNoSuggestion) {
  const Document d = Load("models: [{name: a}]\nzzzzzz: 1\n");
  EXPECT_EQ(Text(d.diagnostics), "exp.yaml:2:1: error: unknown key 'zzzzzz' at top level\n");
}

TEST_F(ConfigTest, ReportsEveryProblemOnceInPositionOrder) {
  const Resolution r = Resolve(R"(experiment: demo
seed: many
defaults:
  data:
    dataset: {plugin: idx, params: {root: /data}}
  backbone: {plugin: vgg}
  training:
    epochs: "30"
    optimizer: {name: rmsprob, lr: 1.0e-3}
models:
  - name: scratch
    strategy: {plugin: scratch}
    trainig: {}
  - name: other
    strategy: {plugin: scratch}
)");
  EXPECT_EQ(Text(r.diagnostics),
            "exp.yaml:2:7: error: 'seed' must be an integer, got a string\n"
            "exp.yaml:8:13: error: 'epochs' must be an integer, got a string\n"
            "exp.yaml:9:23: error: 'name' must be one of rmsprop, adam, sgd; got 'rmsprob'; "
            "did you mean 'rmsprop'?\n"
            "exp.yaml:13:5: error: unknown key 'trainig' in models[0]; did you mean 'training'?\n");
}

// data.input.fit is a string or {train, eval}: a typo in either form is reported at the value.
TEST_F(ConfigTest, InputFitTypoIsReportedAtTheValue) {
  const Resolution r = Resolve(R"(experiment: demo
defaults:
  data:
    dataset: {plugin: idx, params: {root: /data}}
    input: {size: 32, fit: {train: stretch, eval: centre}}
  backbone: {plugin: vgg}
models:
  - name: a
    strategy: {plugin: scratch}
    data: {input: {fit: crop}}
)");
  EXPECT_EQ(Text(r.diagnostics),
            "exp.yaml:5:51: error: 'eval' must be one of stretch, center_crop; got 'centre'\n"
            "exp.yaml:10:25: error: 'fit' must be one of stretch, center_crop; got 'crop'\n");
}

TEST_F(ConfigTest, WrongTypeNamesExpectedAndActual) {
  const Document d = Load(R"(models:
  - name: a
    training:
      batch_size: 1.5
      epochs: [3]
      early_stopping: 0
)");
  EXPECT_EQ(Text(d.diagnostics),
            "exp.yaml:4:19: error: 'batch_size' must be an integer, got a number\n"
            "exp.yaml:5:15: error: 'epochs' must be an integer, got a list\n"
            "exp.yaml:6:23: error: 'early_stopping' must be a mapping, got an integer\n");
}

TEST_F(ConfigTest, RangeAndOneOfProblems) {
  const Document d = Load(R"(models:
  - name: a
    training: {optimizer: {lr: 0}, batch_size: 0}
    backbone: {plugin: vgg, weights: [a.pth]}
  - name: b
    backbone: {plugin: vgg, weights: {flie: a.pth}}
)");
  EXPECT_EQ(Text(d.diagnostics),
            "exp.yaml:3:32: error: 'lr' must be > 0, got 0\n"
            "exp.yaml:3:48: error: 'batch_size' must be >= 1, got 0\n"
            "exp.yaml:4:38: error: 'weights' must be a string or a mapping, got a list\n"
            "exp.yaml:6:39: error: unknown key 'flie' in models[1].backbone.weights; "
            "did you mean 'file'?\n");
}

// No training images is bad input, found at validation (it used to fail the run, exit 1).
TEST_F(ConfigTest, NoTrainingImagesIsRefusedAtItsLine) {
  const Document d = Load(R"(defaults:
  data: {split: {per_class: {train: 0, val: 0, test: 5}}}
models:
  - name: a
)");
  EXPECT_EQ(Text(d.diagnostics), "exp.yaml:2:37: error: 'train' must be > 0, got 0\n");
}

// A "billion laughs" file: nine aliases nine levels deep would be 9^9 values once expanded (it
// grew to 5.5 GB in 30 s). Refused at the first anchor, at once.
TEST_F(ConfigTest, AliasBombIsRefusedNotExpanded) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level < 10; ++level) {
    text += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 9; ++i) text += (i ? ", *a" : "*a") + std::to_string(level - 1);
    text += "]\n";
  }
  text += "models:\n  - name: a\n";
  const Document d = Load(text);
  EXPECT_EQ(Text(d.diagnostics),
            "exp.yaml:1:13: error: the document expands to more than 100000 values (aliases of "
            "aliases?); refused\n");
}

// Nesting: yaml-cpp refuses 500 levels; the converter more than 256 (the top mapping is one),
// at the value that is one too many.
TEST_F(ConfigTest, DeepNestingIsRefusedAtItsLine) {
  const std::string deep = std::string(300, '[') + std::string(300, ']');
  EXPECT_EQ(Text(Load("x: " + deep + "\n").diagnostics),
            "exp.yaml:1:259: error: nested more than 256 levels deep; refused\n");
  const std::string deeper = std::string(10000, '[') + std::string(10000, ']');
  const std::string problem = Text(Load("x: " + deeper + "\n").diagnostics);
  EXPECT_EQ(problem.rfind("exp.yaml:1:", 0), 0u) << problem;
  EXPECT_NE(problem.find(": error: nested 500 or more levels deep; refused\n"), std::string::npos)
      << problem;
}

// Latin-1 bytes (a file saved in the wrong encoding) are one located line, not a JSON library's
// exception when the plan is printed; valid UTF-8 passes.
TEST_F(ConfigTest, NonUtf8BytesAreRefusedAtTheirPosition) {
  EXPECT_EQ(Text(Load("experiment: x\nmodels:\n  - {name: caf\xe9, strategy: {plugin: scratch}}\n")
                     .diagnostics),
            "exp.yaml:3:15: error: not UTF-8 text (byte 0xE9); save the file as UTF-8\n");
  EXPECT_EQ(Text(Load("\xff").diagnostics),
            "exp.yaml:1:1: error: not UTF-8 text (byte 0xFF); save the file as UTF-8\n");
  EXPECT_EQ(Text(Load("a: \xed\xa0\x80\n").diagnostics),  // a UTF-16 surrogate
            "exp.yaml:1:4: error: not UTF-8 text (byte 0xED); save the file as UTF-8\n");
  const Document ok = Load("description: caf\xc3\xa9 \xf0\x9f\x90\x88\nmodels:\n  - name: a\n");
  EXPECT_EQ(Text(ok.diagnostics), "");
}

TEST_F(ConfigTest, UnknownBlockSuggestsNearest) {
  const Document d = Load(R"(blocks:
  augment: {augmenter: {plugin: keras_image}}
models:
  - name: a
    use: [augmnt]
)");
  EXPECT_EQ(Text(d.diagnostics),
            "exp.yaml:5:11: error: unknown block 'augmnt' in models[0].use; "
            "did you mean 'augment'?\n");
}

TEST_F(ConfigTest, DuplicateModelNames) {
  const Document d = Load(R"(models:
  - name: scratch
  - name: other
  - name: scratch
)");
  EXPECT_EQ(Text(d.diagnostics),
            "exp.yaml:4:11: error: duplicate model name 'scratch'; first defined at line 2\n");
}

TEST_F(ConfigTest, MissingModelName) {
  const Document d = Load("models:\n  - strategy: {plugin: scratch}\n");
  EXPECT_EQ(Text(d.diagnostics), "exp.yaml:2:5: error: missing required key 'name' in models[0]\n");
}

TEST_F(ConfigTest, MissingModelsAndEmptyValues) {
  const Document d = Load("experiment: x\ndefaults:\n  augmenter:\n  training: {epochs: }\n");
  EXPECT_EQ(Text(d.diagnostics),
            "exp.yaml:1:1: error: missing required key 'models' at top level\n");
}

TEST_F(ConfigTest, YamlSyntaxErrorLocation) {
  const Document d = Load("models:\n  - name: a\n    training: {epochs: 3\n");
  EXPECT_FALSE(d.usable);
  EXPECT_EQ(Text(d.diagnostics), "exp.yaml:4:1: error: end of map flow not found\n");
}

TEST_F(ConfigTest, DuplicateYamlKey) {
  const Document d = Load("models: [{name: a}]\nseed: 1\nseed: 2\n");
  EXPECT_EQ(Text(d.diagnostics), "exp.yaml:3:1: error: duplicate key 'seed' at top level\n");
}

TEST_F(ConfigTest, UnreadableFile) {
  const Document d = load((dir_ / "missing.yaml").string(), {}, "schemas/experiment.schema.json");
  EXPECT_FALSE(d.usable);
  ASSERT_EQ(d.diagnostics.size(), 1u);
  EXPECT_EQ(d.diagnostics[0].message, "cannot read file");
}

TEST_F(ConfigTest, ScalarsKeepTheirYamlTypes) {
  const YamlJson y = yaml_to_json(
      "a: 1e-3\nb: 1.0e-4\nc: 30\nd: '30'\ne: true\nf: ~\ng: text\nh: \"false\"\ni: -7\nj: 0x1f\n"
      "k: !!str 5\nl: 1.0\n",
      "t.yaml");
  ASSERT_TRUE(y.parsed);
  EXPECT_EQ(y.value.dump(),
            R"({"a":0.001,"b":0.0001,"c":30,"d":"30","e":true,"f":null,"g":"text","h":"false",)"
            R"("i":-7,"j":31,"k":"5","l":1.0})");
}

TEST_F(ConfigTest, UnknownPluginSuggestsAndListsAvailable) {
  const Resolution r = Resolve(std::string(kBase) + "    backbone: {plugin: vgg61}\n");
  EXPECT_EQ(Text(r.diagnostics),
            "exp.yaml:10:24: error: unknown backbone 'vgg61'; did you mean 'vgg'? "
            "available: basic_cnn, resnet, vgg\n");
}

TEST_F(ConfigTest, UnknownPluginWithoutCloseMatch) {
  const Resolution r = Resolve(std::string(kBase) + "    head: {plugin: transformer}\n");
  EXPECT_EQ(Text(r.diagnostics),
            "exp.yaml:10:20: error: unknown head 'transformer'; available: dense\n");
}

TEST_F(ConfigTest, PluginParamProblemsAtTheirLine) {
  const Resolution r = Resolve(std::string(kBase) + R"(  - name: wide
    strategy: {plugin: scratch}
    backbone:
      plugin: vgg
      params:
        width: wide
        variant: vgg_16
        widht: 2
)");
  EXPECT_EQ(Text(r.diagnostics),
            "exp.yaml:15:16: error: 'width' must be a number, got a string\n"
            "exp.yaml:16:18: error: 'variant' must be one of vgg11, vgg16, vgg19; got 'vgg_16'; "
            "did you mean 'vgg16'?\n"
            "exp.yaml:17:9: error: unknown key 'widht' in models[1].backbone.params; "
            "did you mean 'width'?\n");
}

TEST_F(ConfigTest, KeywordsOnlyValijsonKnowsAreStillChecked) {
  registry_.head(
      "even", [](const Params&, const Context&) { return nullptr; },
      R"({"type": "object", "properties": {"units": {"type": "integer",
                                                            "multipleOf": 2}}})");
  const Resolution r =
      Resolve(std::string(kBase) + "    head: {plugin: even, params: {units: 3}}\n");
  EXPECT_EQ(Text(r.diagnostics),
            "exp.yaml:10:42: error: 'units' is invalid: value should be a "
            "multiple of 2\n");
}

TEST_F(ConfigTest, DesignDocumentExampleResolves) {
  const Resolution r = Resolve(R"(experiment: five_models
description: free text
seed: 42
plugin_paths: [../my_plugins]
defaults:
  data:
    dataset: {plugin: idx, params: {root: /usr/share/datasets/fashion-mnist}}
    split:
      classes: [T-shirt/top, Shirt]
      per_class: {train: 1500, val: 500, test: 500}
      seed: 42
      use_subsets: false
    input: {size: [32, 32], channels: 3, scale: 0.00392156862745098, mean: [0,0,0], std: [1,1,1]}
    on_bad_image: skip
  augmenter: {plugin: keras_image, params: {rotation_range: 40}}
  backbone:
    plugin: vgg
    params: {variant: vgg16, width: 0.25}
    weights: {file: path/to/vgg16-397923af.pth, skip: [classifier.]}
  head: {plugin: dense, params: {units: [512, 512], dropout: 0.3}}
  output: auto
  training:
    batch_size: 30
    epochs: 30
    optimizer: {name: rmsprop, lr: 1.0e-3}
    schedule: {name: plateau, factor: 0.1, patience: 3, min_lr: 1.0e-5}
    early_stopping: {patience: 0}
    steps_per_epoch: 0
blocks:
  augment: {augmenter: {plugin: keras_image, params: {rotation_range: 10}}}
models:
  - name: scratch
    strategy: {plugin: scratch}
    backbone: {plugin: basic_cnn}
    augmenter: null
  - name: cnn_aug
    use: [augment]
    strategy: {plugin: scratch}
    backbone: {plugin: basic_cnn}
    training: {optimizer: {lr: 1.0e-4}}
  - name: imagenet
    matrix: false
    strategy: {plugin: scratch}
    backbone: {plugin: basic_cnn}
    publish: vgg16_imagenet
  - name: fine_tune
    strategy: {plugin: frozen, params: {cache_features: false}}
    backbone: {weights: {published: vgg16_imagenet}}
matrix:
  data.split.per_class.train: [50, 1500]
)");
  EXPECT_EQ(Text(r.diagnostics), "");
  EXPECT_EQ(r.plan.models.size(), 7u);
  EXPECT_EQ(Model(r, "imagenet").publishes, "vgg16_imagenet");
  EXPECT_EQ(Model(r, "fine_tune@50").loads, "vgg16_imagenet");
  EXPECT_EQ(Model(r, "fine_tune@50").publisher, 4u);
  EXPECT_EQ(Model(r, "cnn_aug@50").json["augmenter"]["params"]["rotation_range"], 10);
  EXPECT_EQ(Model(r, "fine_tune@1500").json["backbone"]["weights"].dump(),
            R"({"published":"vgg16_imagenet"})");
}

TEST_F(ConfigTest, RequiredPluginParamMissingNamesEachModel) {
  const Resolution r = Resolve(R"(defaults:
  data: {dataset: {plugin: idx}}
  backbone: {plugin: vgg}
  strategy: {plugin: scratch}
models:
  - name: a
  - name: b
)");
  EXPECT_EQ(Text(r.diagnostics),
            "exp.yaml:6:5: error: model 'a' is missing required key 'data.dataset.params.root'\n"
            "exp.yaml:7:5: error: model 'b' is missing required key 'data.dataset.params.root'\n");
}

TEST_F(ConfigTest, MissingKeyOfResolvedModelNamesTheModel) {
  const Resolution r = Resolve(R"(defaults:
  data: {dataset: {plugin: idx, params: {root: /d}}}
models:
  - name: a
    strategy: {plugin: scratch}
)");
  EXPECT_EQ(Text(r.diagnostics),
            "exp.yaml:4:5: error: model 'a' is missing required key 'backbone'\n");
}

TEST_F(ConfigTest, MergeOrderDefaultsThenBlocksThenModel) {
  const Resolution r = Resolve(std::string(kBase) + R"(  - name: tuned
    use: [slow, small]
    strategy: {plugin: scratch}
    training: {epochs: 7}
blocks:
  slow: {training: {epochs: 100, batch_size: 8, optimizer: {lr: 1.0e-5}}}
  small: {training: {batch_size: 4}}
)");
  ASSERT_EQ(Text(r.diagnostics), "");
  const json& training = Model(r, "tuned").json["training"];
  EXPECT_EQ(training["epochs"], 7);
  EXPECT_EQ(training["batch_size"], 4);
  EXPECT_EQ(training["optimizer"]["lr"], 1.0e-5);
  EXPECT_EQ(training["optimizer"]["name"], "rmsprop");
  EXPECT_FALSE(Model(r, "tuned").json.contains("use"));
  EXPECT_EQ(Model(r, "scratch").json["training"]["epochs"], 10);
}

TEST_F(ConfigTest, ProblemInBlockReportedWhereTheBlockSaysIt) {
  const Resolution r = Resolve(std::string(kBase) + R"(    use: [fast]
blocks:
  fast: {training: {epochs: -1}}
)");
  EXPECT_EQ(Text(r.diagnostics), "exp.yaml:12:29: error: 'epochs' must be >= 0, got -1\n");
}

TEST_F(ConfigTest, NullDisablesAugmenterAndHead) {
  const Resolution r = Resolve(R"(defaults:
  data: {dataset: {plugin: idx, params: {root: /d}}}
  backbone: {plugin: vgg}
  head: {plugin: dense}
  augmenter: {plugin: keras_image, params: {rotation_range: 10}}
  strategy: {plugin: scratch}
models:
  - name: plain
    augmenter: null
    head: ~
  - name: aug
)");
  ASSERT_EQ(Text(r.diagnostics), "");
  EXPECT_FALSE(Model(r, "plain").json.contains("augmenter"));
  EXPECT_FALSE(Model(r, "plain").json.contains("head"));
  EXPECT_EQ(Model(r, "aug").json["augmenter"]["params"]["rotation_range"], 10);
}

TEST_F(ConfigTest, OtherPluginReplacesComponentWhole) {
  const Resolution r = Resolve(R"(defaults:
  data: {dataset: {plugin: idx, params: {root: /d}}}
  backbone: {plugin: vgg, params: {variant: vgg19}, weights: vgg19.pth}
  strategy: {plugin: scratch}
models:
  - name: cnn
    backbone: {plugin: basic_cnn}
  - name: narrow
    backbone: {params: {width: 0.5}}
)");
  ASSERT_EQ(Text(r.diagnostics), "");
  EXPECT_EQ(Model(r, "cnn").json["backbone"].dump(),
            R"({"params":{"filters":[16,64,128]},"plugin":"basic_cnn"})");
  const json& narrow = Model(r, "narrow").json["backbone"];
  EXPECT_EQ(narrow["params"]["variant"], "vgg19");
  EXPECT_EQ(narrow["params"]["width"], 0.5);
  EXPECT_EQ(narrow["weights"], "vgg19.pth");
}

TEST_F(ConfigTest, CoreAndPluginDefaultsFilledIn) {
  const Resolution r = Resolve(kBase);
  ASSERT_EQ(Text(r.diagnostics), "");
  const json& m = Model(r, "scratch").json;
  EXPECT_EQ(m["seed"], 42);
  EXPECT_EQ(m["output"], "auto");
  EXPECT_EQ(m["data"]["on_bad_image"], "skip");
  EXPECT_EQ(m["data"]["input"]["scale"], 1.0 / 255);
  EXPECT_EQ(m["training"].dump(),
            R"({"batch_size":32,"early_stopping":{"patience":0},"epochs":10,)"
            R"("optimizer":{"lr":0.001,"name":"rmsprop"},"schedule":{"name":"none"},)"
            R"("steps_per_epoch":0})");
  // Plugin defaults, nested mappings included.
  EXPECT_EQ(m["backbone"]["params"].dump(),
            R"({"pool":{"kind":"max","size":2},"variant":"vgg16","width":1.0})");
  EXPECT_EQ(m["strategy"]["params"].dump(), "{}");
  EXPECT_EQ(m["head"]["params"]["dropout"], 0.0);
}

TEST_F(ConfigTest, TopLevelSeedIsEveryModelsDefault) {
  const Resolution r = Resolve(std::string(kBase) +
                               "  - name: own\n    seed: 3\n"
                               "    strategy: {plugin: scratch}\nseed: 7\n");
  ASSERT_EQ(Text(r.diagnostics), "");
  EXPECT_EQ(Model(r, "scratch").json["seed"], 7);
  EXPECT_EQ(Model(r, "own").json["seed"], 3);
}

TEST_F(ConfigTest, SetOverridesDefaults) {
  const Resolution r = Resolve(kBase, {"defaults.training.epochs=1", "defaults.output=softmax"});
  ASSERT_EQ(Text(r.diagnostics), "");
  EXPECT_EQ(Model(r, "scratch").json["training"]["epochs"], 1);
  EXPECT_EQ(Model(r, "scratch").json["output"], "softmax");
}

TEST_F(ConfigTest, SetOverridesNamedModel) {
  const Resolution r = Resolve(std::string(kBase) +
                                   "  - name: other\n"
                                   "    strategy: {plugin: scratch}\n",
                               {"models.other.training.optimizer={name: adam, lr: 1e-4}"});
  ASSERT_EQ(Text(r.diagnostics), "");
  EXPECT_EQ(Model(r, "other").json["training"]["optimizer"]["name"], "adam");
  EXPECT_EQ(Model(r, "other").json["training"]["optimizer"]["lr"], 1e-4);
  EXPECT_EQ(Model(r, "scratch").json["training"]["optimizer"]["name"], "rmsprop");
}

TEST_F(ConfigTest, ForcedSetReachesEveryModelOverTheirOwnKeys) {
  const Resolution r = Resolve(std::string(kBase) +
                                   "    training: {epochs: 50}\n"
                                   "  - name: other\n    strategy: {plugin: scratch}\n",
                               {"*.training.epochs=1"});
  ASSERT_EQ(Text(r.diagnostics), "");
  EXPECT_EQ(Model(r, "scratch").json["training"]["epochs"], 1);
  EXPECT_EQ(Model(r, "other").json["training"]["epochs"], 1);
}

TEST_F(ConfigTest, SetWithBadPathNamesTheOverride) {
  const Resolution r =
      Resolve(kBase, {"models.scrach.training.epochs=3", "epochs", "experiment.x=1",
                      "defaults.training.epocs=2", "*.training.epochs=ten"});
  EXPECT_EQ(Text(r.diagnostics),
            "--set models.scrach.training.epochs=3: error: no model named 'scrach'; "
            "did you mean 'scratch'?\n"
            "--set epochs: error: expected PATH=VALUE\n"
            "--set experiment.x=1: error: cannot set 'experiment.x': 'experiment' is a string, "
            "not a mapping\n"
            "--set defaults.training.epocs=2: error: unknown key 'epocs' in defaults.training; "
            "did you mean 'epochs'?\n"
            "--set *.training.epochs=ten: error: 'epochs' must be an integer, got a string\n");
}

// An empty value (an unset shell variable, a typo) would be YAML's null and replace the whole
// block silently: refused, with the explicit spelling.
TEST_F(ConfigTest, SetWithAnEmptyValueIsRefused) {
  const Resolution r = Resolve(kBase, {"defaults.training=", "*.training.epochs= "});
  EXPECT_EQ(Text(r.diagnostics),
            "--set defaults.training=: error: no value after 'defaults.training='; write "
            "defaults.training=null to clear it on purpose\n"
            "--set *.training.epochs= : error: no value after '*.training.epochs='; write "
            "*.training.epochs=null to clear it on purpose\n");
}

TEST_F(ConfigTest, MatrixRunsEveryModelOncePerValue) {
  const Resolution r = Resolve(std::string(kBase) + R"(  - name: frozen
    strategy: {plugin: frozen}
matrix:
  training.epochs: [1, 5]
  data.dataset.params.root: [/a, /b]
)");
  ASSERT_EQ(Text(r.diagnostics), "");
  std::vector<std::string> names;
  for (const ResolvedModel& m : r.plan.models) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"scratch@1@/a", "scratch@1@/b", "scratch@5@/a",
                                             "scratch@5@/b", "frozen@1@/a", "frozen@1@/b",
                                             "frozen@5@/a", "frozen@5@/b"}));
  EXPECT_EQ(Model(r, "frozen@5@/b").json["training"]["epochs"], 5);
  EXPECT_EQ(Model(r, "frozen@5@/b").json["data"]["dataset"]["params"]["root"], "/b");
  EXPECT_EQ(Model(r, "frozen@5@/b").json["name"], "frozen@5@/b");
}

// Replicates: cells named model#k next to each other; the count, `vary` and `compare_to` steer
// the plan and are not in the resolved model, so replicate 1 is the model without replicates.
TEST_F(ConfigTest, ReplicatesExpandEachModelAndAStageRunsOnce) {
  const std::string yaml = R"(experiment: demo
replicates: 3
vary: [training, train_sample]
defaults:
  data:
    dataset: {plugin: idx, params: {root: /data}}
  backbone: {plugin: vgg, params: {variant: vgg16}}
  head: {plugin: dense, params: {units: [512]}}
models:
  - name: source
    matrix: false
    strategy: {plugin: scratch}
    publish: src
  - name: scratch
    strategy: {plugin: scratch}
  - name: frozen
    replicates: 2
    strategy: {plugin: frozen}
    backbone: {weights: {published: src}}
)";
  const Resolution r = Resolve(yaml);
  ASSERT_EQ(Text(r.diagnostics), "");
  std::vector<std::string> names;
  for (const ResolvedModel& m : r.plan.models) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"source", "scratch#1", "scratch#2", "scratch#3",
                                             "frozen#1", "frozen#2"}));
  const ResolvedModel& second = Model(r, "scratch#2");
  EXPECT_EQ(second.model, "scratch");
  EXPECT_EQ(second.replicate, 1);
  EXPECT_EQ(second.replicates, 3);
  EXPECT_EQ(second.json["name"], "scratch");
  EXPECT_FALSE(second.json.contains("replicates"));
  EXPECT_TRUE(second.json["data"]["split"].contains("train_val_seed"));
  EXPECT_FALSE(Model(r, "scratch#1")
                   .json["data"]
                   .value("split", nlohmann::json::object())
                   .contains("train_val_seed"));
  EXPECT_EQ(Model(r, "frozen#2").publisher, 0u);
  EXPECT_EQ(r.plan.compare_to, "scratch") << "the first scratch model, as written";
  // Without replicates the plain model is the same resolved model as replicate 1.
  const Resolution plain = Resolve(std::string(kBase));
  EXPECT_EQ(Model(plain, "scratch").hash,
            Model(Resolve(std::string(kBase) + "    replicates: 4\n"), "scratch#1").hash);
}

TEST_F(ConfigTest, ReplicateProblemsAreLocated) {
  const Resolution r = Resolve(std::string(kBase) + R"(  - name: source
    replicates: 2
    strategy: {plugin: scratch}
    publish: src
compare_to: scratchh
)");
  EXPECT_EQ(Text(r.diagnostics),
            "exp.yaml:11:17: error: model 'source' publishes weights 'src' and so runs once, but "
            "is given 2 replicates; give it `replicates: 1`\n"
            "exp.yaml:14:13: error: compare_to names no model: 'scratchh'; did you mean "
            "'scratch'?\n");
  // The experiment's count passes a publisher by: it runs once.
  const Resolution stage = Resolve(std::string(kBase) + R"(  - name: source
    strategy: {plugin: scratch}
    publish: src
replicates: 3
)");
  EXPECT_EQ(Text(stage.diagnostics), "");
  EXPECT_EQ(Model(stage, "source").replicates, 1);
  EXPECT_EQ(Model(stage, "scratch#3").replicate, 2);
  const Document forced = Load(std::string(kBase), {"*.replicates=2"});
  EXPECT_NE(Text(forced.diagnostics).find("'*.replicates' steers expansion"), std::string::npos)
      << Text(forced.diagnostics);
}

TEST_F(ConfigTest, MatrixProblemsPointAtTheMatrix) {
  const Resolution r = Resolve(std::string(kBase) + R"(matrix:
  data.split.per_class.trian: [50]
  training.epochs: [1, x]
)");
  EXPECT_EQ(Text(r.diagnostics),
            "exp.yaml:11:3: error: unknown key 'trian' in matrix path "
            "'data.split.per_class.trian'; did you mean 'train'?\n"
            "exp.yaml:12:24: error: 'epochs' must be an integer, got a string\n");
}

TEST_F(ConfigTest, HashIgnoresKeyOrderAndFollowsValues) {
  const std::string a = R"(defaults:
  data: {dataset: {plugin: idx, params: {root: /d}}}
  backbone: {plugin: vgg, params: {variant: vgg16, width: 0.5}}
models:
  - name: m
    strategy: {plugin: scratch}
    training: {epochs: 3, batch_size: 16}
)";
  const std::string b = R"(models:
  - training: {batch_size: 16, epochs: 3}
    strategy: {plugin: scratch}
    name: m
defaults:
  backbone: {params: {width: 0.5, variant: vgg16}, plugin: vgg}
  data: {dataset: {params: {root: /d}, plugin: idx}}
)";
  const Resolution ra = Resolve(a);
  const Resolution rb = Resolve(b);
  const Resolution rc = Resolve(a, {"models.m.training.epochs=4"});
  ASSERT_EQ(Text(ra.diagnostics) + Text(rb.diagnostics) + Text(rc.diagnostics), "");
  EXPECT_EQ(ra.plan.models[0].hash.size(), 64u);
  EXPECT_EQ(ra.plan.models[0].hash, rb.plan.models[0].hash);
  EXPECT_NE(ra.plan.models[0].hash, rc.plan.models[0].hash);
  EXPECT_EQ(ra.plan.models[0].hash, content_hash(ra.plan.models[0].json));
}

TEST_F(ConfigTest, PluginPathsResolveAgainstTheFile) {
  const Document d = Load(std::string(kBase) + "plugin_paths: [../mine, /abs/plugins]\n");
  EXPECT_EQ(d.plugin_paths,
            (std::vector<std::string>{(fs::absolute(dir_).parent_path() / "mine").string(),
                                      "/abs/plugins"}));
}

TEST_F(ConfigTest, ExperimentNameDefaultsToFileStem) {
  const Document d = Load("models: [{name: a}]\n");
  EXPECT_EQ(d.experiment, "exp");
}

TEST_F(ConfigTest, DryRunTextShowsNamesHashesAndJson) {
  const Resolution r = Resolve(kBase);
  const std::string text = plan_to_text(r.plan);
  const std::string hash = r.plan.models[0].hash.substr(0, 12);
  EXPECT_EQ(
      text.rfind("experiment demo (" + file_ + "): 1 model\n\nmodel scratch  " + hash + "\n{\n", 0),
      0u)
      << text;
  EXPECT_NE(text.find("\"batch_size\": 32"), std::string::npos);
}

TEST_F(ConfigTest, WithoutRegistryPluginsAreNotChecked) {
  const Resolution r =
      resolve(Load(std::string(kBase) + "    backbone: {plugin: nope}\n"), nullptr);
  EXPECT_EQ(Text(r.diagnostics), "");
}

TEST_F(ConfigTest, NearestNameNeedsACloseMatch) {
  EXPECT_EQ(nearest_name("widht", {"variant", "width"}), "width");
  EXPECT_EQ(nearest_name("vgg61", {"basic_cnn", "resnet", "vgg"}), "vgg");
  EXPECT_EQ(nearest_name("xy", {"ab", "cd"}), "");
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(nearest_name("shirt", {"Shirt", "Coat"}), "Shirt");  // 1 edit
  EXPECT_EQ(nearest_name("SHIRTS", {"Coat", "Shirt"}), "");      // 5 edits
  EXPECT_EQ(nearest_name("SHIRTS", {"Coat", "Shirt"}, /*ignore_case=*/true), "Shirt");
  EXPECT_EQ(did_you_mean("blok2", {"block1", "block2"}), "; did you mean 'block2'?");
  EXPECT_EQ(did_you_mean("zzz", {"block1"}), "");
}

// The runner checks files against the schema built into it, the repository's file byte for byte,
// and reads a file only when TLR_SCHEMA_DIR names one.
TEST_F(ConfigTest, BuiltinSchemaIsTheRepositorySchema) {
  std::ifstream in("schemas/experiment.schema.json", std::ios::binary);
  ASSERT_TRUE(in) << "run from the source tree's root";
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(std::string(builtin_experiment_schema()), file);
  if (std::getenv("TLR_SCHEMA_DIR") == nullptr) {
    EXPECT_EQ(find_schema_file(), "");
  }
}

TEST_F(ConfigTest, EmptySchemaFileMeansTheBuiltinSchema) {
  const std::string file =
      Write("good.yaml", "models:\n  - {name: a, strategy: {plugin: scratch}}\n");
  const Document builtin = load(file, {}, "");
  const Document repository = load(file, {}, "schemas/experiment.schema.json");
  EXPECT_TRUE(builtin.usable);
  EXPECT_EQ(builtin.schema, repository.schema);
  EXPECT_EQ(Text(builtin.diagnostics), Text(repository.diagnostics));
}

// --- extends -------------------------------------------------------------------------------

// The base of the `extends` tests: a pretraining stage, a target that loads its weights, a matrix.
const char* const kFiveModels = R"(experiment: five_models
description: the base
seed: 7
defaults:
  data:
    dataset: {plugin: idx, params: {root: /data}}
    split: {classes: [a, b], per_class: {train: 1500, val: 500, test: 500}}
  backbone: {plugin: vgg, params: {variant: vgg16, width: 0.5}}
  head: {plugin: dense, params: {units: [512]}}
  training: {epochs: 30, batch_size: 30, optimizer: {name: adam, lr: 1.0e-3}}
blocks:
  augment: {augmenter: {plugin: keras_image, params: {rotation_range: 10}}}
  slow: {training: {epochs: 100}}
models:
  - name: source
    matrix: false
    strategy: {plugin: pretrain}
    publish: source
  - name: target
    use: [augment]
    strategy: {plugin: frozen}
    backbone: {weights: {published: source}}
matrix:
  training.epochs: [1, 2]
)";

TEST_F(ConfigTest, ExtendsMergesBlocksAndDefaultsDeeplyAndReplacesOtherKeys) {
  registry_.strategy("pretrain", [](const Params&, const Context&) { return nullptr; });
  Write("five_models.yaml", kFiveModels);
  const Resolution r = Resolve(R"(extends: five_models.yaml
defaults:
  training: {epochs: 3, optimizer: {lr: 1.0e-4}}
  backbone: {params: {width: 0.25}}
blocks:
  augment: {augmenter: {params: {rotation_range: 20}}}
matrix:
  data.split.per_class.train: [50, 100]
)");
  ASSERT_EQ(Text(r.diagnostics), "");
  EXPECT_EQ(r.plan.experiment, "exp");  // the stem of this file, not the base's name
  EXPECT_EQ(Short(r.plan.bases.at(0)), "five_models.yaml");
  std::vector<std::string> names;
  for (const ResolvedModel& m : r.plan.models) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"source", "target@50", "target@100"}));
  const json& target = Model(r, "target@50").json;
  EXPECT_EQ(target["training"]["epochs"], 3);       // this file's defaults win ...
  EXPECT_EQ(target["training"]["batch_size"], 30);  // ... over the base's, key by key
  EXPECT_EQ(target["training"]["optimizer"]["name"], "adam");
  EXPECT_EQ(target["training"]["optimizer"]["lr"], 1.0e-4);
  EXPECT_EQ(target["backbone"]["params"]["variant"], "vgg16");
  EXPECT_EQ(target["backbone"]["params"]["width"], 0.25);
  EXPECT_EQ(target["augmenter"]["params"]["rotation_range"], 20);
  EXPECT_EQ(target["augmenter"]["plugin"], "keras_image");
  EXPECT_EQ(target["data"]["split"]["per_class"]["train"], 50);
  EXPECT_EQ(target["data"]["split"]["per_class"]["val"], 500);
  EXPECT_EQ(target["seed"], 7);  // not written here: the base's
  EXPECT_EQ(Model(r, "target@100").json["data"]["split"]["per_class"]["train"], 100);
}

// The shape of experiments/five_models_by_size.yaml: the base's models, a matrix over the
// target's training size, the pretraining stage once and identical to the base's own.
TEST_F(ConfigTest, ExtendsWithMatrixOverTrainingSizeKeepsThePretrainingStageAsInTheBase) {
  registry_.strategy("pretrain", [](const Params&, const Context&) { return nullptr; });
  const std::string base = Write("five_models.yaml", kFiveModels);
  const Resolution r = Resolve(R"(extends: five_models.yaml
experiment: five_models_by_size
matrix:
  data.split.per_class.train: [50, 100, 1500]
)");
  ASSERT_EQ(Text(r.diagnostics), "");
  EXPECT_EQ(r.plan.experiment, "five_models_by_size");
  std::vector<std::string> names;
  for (const ResolvedModel& m : r.plan.models) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"source", "target@50", "target@100", "target@1500"}));
  EXPECT_EQ(Model(r, "target@1500").json["training"]["epochs"], 30);  // the base's matrix is gone
  EXPECT_EQ(Model(r, "target@100").json["backbone"]["weights"]["published"], "source");
  EXPECT_EQ(Model(r, "source").json["data"]["split"]["per_class"]["train"], 1500);

  const Resolution alone = resolve(load(base, {}, "schemas/experiment.schema.json"), &registry_);
  ASSERT_EQ(Text(alone.diagnostics), "");
  EXPECT_EQ(alone.plan.experiment, "five_models");
  EXPECT_EQ(Model(alone, "source").hash, Model(r, "source").hash);
  EXPECT_EQ(Model(alone, "source").json.dump(), Model(r, "source").json.dump());
}

TEST_F(ConfigTest, ExtendsProblemsPointAtTheFileThatWroteTheValue) {
  Write("base.yaml", R"(experiment: base
defaults:
  data: {dataset: {plugin: idx, params: {root: /d}}}
  backbone: {plugin: vgg, params: {variant: vgg_16}}
  training: {epochs: -1}
models:
  - name: a
    strategy: {plugin: scratch}
    trainig: {}
)");
  const Resolution r = Resolve(R"(extends: base.yaml
defaults:
  training: {batch_size: 0}
  head: {plugin: dens}
)");
  EXPECT_EQ(Text(r.diagnostics),
            "exp.yaml:3:26: error: 'batch_size' must be >= 1, got 0\n"
            "exp.yaml:4:18: error: unknown head 'dens'; did you mean 'dense'? available: dense\n"
            "base.yaml:4:45: error: 'variant' must be one of vgg11, vgg16, vgg19; got 'vgg_16'; "
            "did you mean 'vgg16'?\n"
            "base.yaml:5:22: error: 'epochs' must be >= 0, got -1\n"
            "base.yaml:9:5: error: unknown key 'trainig' in models[0]; did you mean 'training'?\n");
}

TEST_F(ConfigTest, ExtendsMissingBaseIsReportedAtExtends) {
  const Document d = Load("models: [{name: a}]\nextends: nope.yaml\n");
  EXPECT_FALSE(d.usable);
  EXPECT_EQ(Text(d.diagnostics),
            "exp.yaml:2:10: error: cannot read base file 'nope.yaml'; 'extends' names a file "
            "relative to this file's folder\n");
}

TEST_F(ConfigTest, ExtendsBaseWithYamlErrorReportsBoth) {
  Write("base.yaml", "models:\n  - name: a\n    training: {epochs: 3\n");
  const Document d = Load("extends: base.yaml\nseed: x\n");
  EXPECT_FALSE(d.usable);
  EXPECT_EQ(Text(d.diagnostics),
            "exp.yaml:1:10: error: cannot extend 'base.yaml': fix the errors reported in it\n"
            "base.yaml:4:1: error: end of map flow not found\n");
}

TEST_F(ConfigTest, ExtendsBaseThatIsNotAMapping) {
  Write("list.yaml", "- name: a\n");
  Write("empty.yaml", "# nothing yet\n");
  Write("bad_extends.yaml", "extends: [x.yaml]\n");
  EXPECT_EQ(Text(Load("extends: list.yaml\n").diagnostics),
            "exp.yaml:1:10: error: cannot extend 'list.yaml': fix the errors reported in it\n"
            "list.yaml:1:1: error: an experiment file must be a mapping, got a list\n");
  EXPECT_EQ(Text(Load("extends: empty.yaml\n").diagnostics),
            "exp.yaml:1:10: error: cannot extend 'empty.yaml': fix the errors reported in it\n"
            "empty.yaml:1:1: error: the file is empty; nothing to extend\n");
  EXPECT_EQ(Text(Load("extends: bad_extends.yaml\n").diagnostics),
            "exp.yaml:1:10: error: cannot extend 'bad_extends.yaml': fix the errors reported in "
            "it\n"
            "bad_extends.yaml:1:10: error: 'extends' must name a file, got a list\n");
}

TEST_F(ConfigTest, ExtendsOwnTypeIsCheckedBySchema) {
  EXPECT_EQ(Text(Load("models: [{name: a}]\nextends: 3\n").diagnostics),
            "exp.yaml:2:10: error: 'extends' must be a string, got an integer\n");
}

TEST_F(ConfigTest, ExtendsCycleNamesTheChain) {
  Write("a.yaml", "extends: sub/b.yaml\n");
  Write("sub/b.yaml", "extends: ../exp.yaml\n");
  const Document d = Load("models: [{name: a}]\nextends: a.yaml\n");
  EXPECT_FALSE(d.usable);
  EXPECT_EQ(Text(d.diagnostics),
            "exp.yaml:2:10: error: cannot extend 'a.yaml': fix the errors reported in it\n"
            "a.yaml:1:10: error: cannot extend 'sub/b.yaml': fix the errors reported in it\n"
            "sub/b.yaml:1:10: error: 'extends' makes a cycle: exp.yaml -> a.yaml -> sub/b.yaml -> "
            "exp.yaml; remove one of these 'extends'\n");
  EXPECT_EQ(Text(Load("extends: exp.yaml\n").diagnostics),
            "exp.yaml:1:10: error: 'extends' makes a cycle: exp.yaml -> exp.yaml; remove one of "
            "these 'extends'\n");
}

TEST_F(ConfigTest, ExtendsChainKeepsNullsAndPluginRules) {
  Write("base.yaml", R"(experiment: demo
defaults:
  data:
    dataset: {plugin: idx, params: {root: /data}}
  backbone: {plugin: vgg, params: {variant: vgg19, width: 0.5}, weights: vgg19.pth}
  augmenter: {plugin: keras_image, params: {rotation_range: 10}}
blocks:
  quiet: {training: {epochs: 2}}
models:
  - name: plain
    use: [quiet]
    strategy: {plugin: scratch}
)");
  Write("mid.yaml", R"(extends: base.yaml
blocks:
  quiet: {augmenter: null}
)");
  const Resolution r = Resolve(R"(extends: mid.yaml
defaults:
  backbone: {plugin: basic_cnn}
)");
  ASSERT_EQ(Text(r.diagnostics), "");
  EXPECT_EQ(Short(r.plan.bases.at(0)) + " " + Short(r.plan.bases.at(1)), "mid.yaml base.yaml");
  const json& plain = Model(r, "plain").json;
  EXPECT_FALSE(plain.contains("augmenter"));  // the block's null still removes it
  EXPECT_EQ(plain["training"]["epochs"], 2);  // the base's half of the block is kept
  // Another plugin replaces the component whole: no vgg params, no vgg weights.
  EXPECT_EQ(plain["backbone"].dump(), R"({"params":{"filters":[16,64,128]},"plugin":"basic_cnn"})");
  EXPECT_EQ(r.plan.experiment, "exp");
}

TEST_F(ConfigTest, ExtendsPluginPathsStayRelativeToTheFileThatWroteThem) {
  Write("sub/base.yaml", std::string(kBase) + "plugin_paths: [plugins, /abs]\n");
  const Document inherited = Load("extends: sub/base.yaml\n");
  EXPECT_EQ(Text(inherited.diagnostics), "");
  EXPECT_EQ(inherited.plugin_paths,
            (std::vector<std::string>{(fs::absolute(dir_) / "sub" / "plugins").string(), "/abs"}));
  const Document own = Load("extends: sub/base.yaml\nplugin_paths: [mine]\n");
  EXPECT_EQ(own.plugin_paths, (std::vector<std::string>{(fs::absolute(dir_) / "mine").string()}));
}

TEST_F(ConfigTest, ExtendsRecordsEveryFileAndDryRunNamesThem) {
  Write("base.yaml", kBase);
  const std::string child = "extends: base.yaml\nseed: 3";  // no final newline
  const Resolution r = Resolve(child);
  ASSERT_EQ(Text(r.diagnostics), "");
  EXPECT_EQ(r.plan.experiment, "exp");
  EXPECT_EQ(Short(r.plan.text), child + "\n--- # extends: base.yaml\n" + kBase);
  const std::string text = Short(plan_to_text(r.plan));
  EXPECT_EQ(
      text.rfind("experiment exp (exp.yaml): 1 model\nextends base.yaml\n\nmodel scratch  ", 0), 0u)
      << text;
  EXPECT_EQ(Model(r, "scratch").json["seed"], 3);
}

TEST_F(ConfigTest, ExtendsEmptyMatrixDropsTheBases) {
  registry_.strategy("pretrain", [](const Params&, const Context&) { return nullptr; });
  Write("five_models.yaml", kFiveModels);
  const Resolution r = Resolve("extends: five_models.yaml\nmatrix: {}\n");
  ASSERT_EQ(Text(r.diagnostics), "");
  ASSERT_EQ(r.plan.models.size(), 2u);
  EXPECT_EQ(r.plan.models[1].name, "target");
}

TEST_F(ConfigTest, ExtendsAndForcedMatrixCannotBeSet) {
  Write("base.yaml", kBase);
  const Resolution r = Resolve("extends: base.yaml\n", {"extends=other.yaml", "*.matrix=false"});
  EXPECT_EQ(Text(r.diagnostics),
            "--set extends=other.yaml: error: 'extends' is read before --set applies; edit it in "
            "the file\n"
            "--set *.matrix=false: error: '*.matrix' comes after matrix expansion; set one "
            "model's with models.<name>.matrix=false\n");
}

// --- matrix: false ---------------------------------------------------------------------------

TEST_F(ConfigTest, MatrixFalseRunsTheModelOnceUnderItsName) {
  const Resolution r = Resolve(std::string(kBase) + R"(  - name: source
    matrix: false
    strategy: {plugin: frozen}
  - name: expanded
    matrix: true
    strategy: {plugin: frozen}
matrix:
  training.epochs: [1, 5]
)");
  ASSERT_EQ(Text(r.diagnostics), "");
  std::vector<std::string> names;
  for (const ResolvedModel& m : r.plan.models) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"scratch@1", "scratch@5", "source", "expanded@1",
                                             "expanded@5"}));
  EXPECT_EQ(Model(r, "source").json["training"]["epochs"], 10);
  EXPECT_FALSE(Model(r, "source").json.contains("matrix"));
  EXPECT_FALSE(Model(r, "expanded@1").json.contains("matrix"));

  // The key steers expansion only: the same model without it has the same hash.
  const Resolution plain = Resolve(std::string(kBase) + R"(  - name: source
    strategy: {plugin: frozen}
)");
  ASSERT_EQ(Text(plain.diagnostics), "");
  EXPECT_EQ(Model(plain, "source").hash, Model(r, "source").hash);
}

TEST_F(ConfigTest, MatrixFalseCanBeSetForOneModel) {
  const Resolution r = Resolve(std::string(kBase) + "matrix:\n  training.epochs: [1, 5]\n",
                               {"models.scratch.matrix=false"});
  ASSERT_EQ(Text(r.diagnostics), "");
  ASSERT_EQ(r.plan.models.size(), 1u);
  EXPECT_EQ(r.plan.models[0].name, "scratch");
}

TEST_F(ConfigTest, MatrixSwitchIsABooleanOfAModelOnly) {
  const Document d = Load(R"(defaults:
  matrix: false
blocks:
  once: {matrix: false}
models:
  - name: a
    matrix: 'no'
)");
  EXPECT_EQ(Text(d.diagnostics),
            "exp.yaml:2:3: error: unknown key 'matrix' in defaults\n"
            "exp.yaml:4:10: error: unknown key 'matrix' in blocks.once\n"
            "exp.yaml:7:13: error: 'matrix' must be a boolean, got a string\n");
}

// Existing hashes must not move when the schema gains keys: this pins what is hashed for kBase.
TEST_F(ConfigTest, ContentOfAResolvedModelIsPinned) {
  const Resolution r = Resolve(kBase);
  ASSERT_EQ(Text(r.diagnostics), "");
  EXPECT_EQ(canonical_json(r.plan.models[0].json),
            R"({"backbone":{"params":{"pool":{"kind":"max","size":2},"variant":"vgg16",)"
            R"("width":1.0},"plugin":"vgg"},"data":{"dataset":{"params":{"root":"/data"},)"
            R"("plugin":"idx"},"input":{"scale":0.00392156862745098},"on_bad_image":"skip"},)"
            R"("head":{"params":{"dropout":0.0,"units":[512]},"plugin":"dense"},"name":"scratch",)"
            R"("output":"auto","seed":42,"strategy":{"params":{},"plugin":"scratch"},)"
            R"("training":{"batch_size":32,"early_stopping":{"patience":0},"epochs":10,)"
            R"("optimizer":{"lr":0.001,"name":"rmsprop"},"schedule":{"name":"none"},)"
            R"("steps_per_epoch":0}})");
  EXPECT_EQ(r.plan.models[0].hash,
            "61ddd83fccd7e55a4c33f6cd1abacb57ce4889a2c04766e8df0241fc5a0612bf");
}

// --- output ----------------------------------------------------------------------------------

TEST_F(ConfigTest, SigmoidOverMoreThanTwoListedClassesIsRefused) {
  const Resolution r = Resolve(std::string(kBase) + R"(    data: {split: {classes: [a, b, c]}}
    output: sigmoid
  - name: two
    strategy: {plugin: scratch}
    data: {split: {classes: [a, b]}}
    output: sigmoid
  - name: unknown_count
    strategy: {plugin: scratch}
    output: sigmoid
matrix:
  training.epochs: [1, 2]
)");
  EXPECT_EQ(Text(r.diagnostics),
            "exp.yaml:11:13: error: output 'sigmoid' needs exactly 2 classes, but model 'scratch' "
            "lists 3 in data.split.classes; use 'softmax' or 'auto'\n");
}

}  // namespace
}  // namespace tlr::config
