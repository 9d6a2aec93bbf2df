// `relation` declarations: their syntax (the PATH token, `{i}` placeholders), the canonical
// printer, located errors, and the declarations as the embedding API hands them out.
#include "util/error.h"
#include "interp/interpreter.h"
#include "interp/parser.h"
#include "interp/printer.h"
#include "interp/relation.h"
#include "interp/term.h"

#include "support.h"

#include <doctest/doctest.h>

using namespace twin;

namespace {

Program parse(const std::string& text, const std::string& name = "r.rules") {
  return parse_program(std::make_shared<SourceFile>(name, text));
}

Error parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected a syntax error for: " << text);
  return Error(ErrorKind::Syntax, "");
}

Error load_error(const std::string& text) {
  testing::TempDir dir;
  auto file = dir.write("r.rules", text);
  InterpreterOptions options;
  options.allowed_read_dirs = {dir.path};
  Interpreter twin(options);
  try {
    twin.load_declarations(file);
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected an error loading:\n" << text);
  return Error(ErrorKind::Syntax, "");
}

}  // namespace

TEST_CASE("a relation declaration parses: a name or a pattern, then a term") {
  auto program = parse(R"(version 1
relation norm.weight = norm.weight
relation layers.{i}.self_attn.qkv_proj.weight =
    cat([layers.{i}.self_attn.q_proj.weight, layers.{i}.self_attn.k_proj.weight], dim=0)
relation layers.{i}.mlp.down_proj.shards.{r}.weight = slice(layers.{i}.mlp.down_proj.weight, dim=1, start=64 * {r}, end=64 * ({r} + 1))
)");
  REQUIRE(program.statements.size() == 4);
  const Stmt& plain = *program.statements[1];
  CHECK(plain.kind == StmtKind::Relation);
  CHECK(plain.text == "norm.weight");
  CHECK(plain.target->kind == ExprKind::Name);
  CHECK(plain.expr->kind == ExprKind::Name);

  const Stmt& fused = *program.statements[2];
  CHECK(fused.text == "layers.{i}.self_attn.qkv_proj.weight");
  CHECK(fused.target->kind == ExprKind::Path);
  CHECK(fused.target->location.column == 10);
  CHECK(fused.end_line == 4);
  const Expr& list = *fused.expr->operands[1];
  REQUIRE(list.kind == ExprKind::List);
  CHECK(list.operands[0]->kind == ExprKind::Path);
  CHECK(list.operands[0]->text == "layers.{i}.self_attn.q_proj.weight");

  const Stmt& shard = *program.statements[3];
  const Expr& start = *shard.expr->operands[3];
  CHECK(shard.expr->arg_names[2] == "start");
  REQUIRE(start.kind == ExprKind::Binary);
  CHECK(start.operands[1]->kind == ExprKind::Placeholder);
  CHECK(start.operands[1]->text == "r");
}

TEST_CASE("the PATH token leaves every older form as it was") {
  // Blocks and maps that start with `{name}` are not placeholders where a block is expected.
  auto program = parse("fn f(x) {x}\nif a {b} else {c}\nlet m = {a: 1}\nlet e = {}\nlet d = layers.0.weight\n", "t.twin");
  REQUIRE(program.statements.size() == 5);
  CHECK(program.statements[0]->kind == StmtKind::Fn);
  CHECK(program.statements[0]->function->body.size() == 1);
  CHECK(program.statements[1]->kind == StmtKind::If);
  CHECK(program.statements[2]->expr->kind == ExprKind::Map);
  CHECK(program.statements[3]->expr->kind == ExprKind::Map);
  CHECK(program.statements[4]->expr->kind == ExprKind::Name);  // a dotted name stays an ID
  CHECK(program.statements[4]->expr->text == "layers.0.weight");
  // Soft keywords stay names, on either side of a relation.
  auto soft = parse("relation op = op\nlet use = 1\n", "t.twin");
  CHECK(soft.statements[0]->kind == StmtKind::Relation);
  CHECK(soft.statements[0]->text == "op");
}

TEST_CASE("relation syntax errors are located and say what was expected") {
  Error missing = parse_error("version 1\nrelation norm.weight norm.weight\n");
  CHECK(missing.location().line == 2);
  CHECK(missing.location().column == 22);
  CHECK(missing.message().find("expected '='") != std::string::npos);

  Error no_target = parse_error("version 1\nrelation = x\n");
  CHECK(no_target.location().column == 10);
  CHECK(no_target.message().find("expected a parameter name or pattern") != std::string::npos);

  Error leading = parse_error("version 1\nrelation {i}.weight = norm.weight\n");
  CHECK(leading.location().column == 10);

  Error dotted = parse_error("version 1\nrelation a.{i} = slice(a, start={i.j})\n");
  CHECK(dotted.message().find("a placeholder is a plain name") != std::string::npos);
}

TEST_CASE("relations print canonically; twin fmt keeps comments and is idempotent") {
  const std::string messy =
      "version 1\n"
      "# the fused projections\n"
      "relation   layers.{i}.self_attn.qkv_proj.weight=cat( [layers.{i}.self_attn.q_proj.weight,\n"
      "      layers.{i}.self_attn.k_proj.weight],dim=0 )   # q, k\n"
      "\n\n"
      "relation lm_head.shards.{r}.weight = slice(lm_head.weight,dim=0,start=50*{ r },end=(50*{r})+50)\n"
      "relation norm.weight=norm.weight\n";
  std::string once = format_program(parse(messy));
  CHECK(once ==
        "version 1\n"
        "# the fused projections\n"
        "relation layers.{i}.self_attn.qkv_proj.weight =\n"
        "    cat([layers.{i}.self_attn.q_proj.weight, layers.{i}.self_attn.k_proj.weight], dim=0)  # q, k\n"
        "\n"
        "relation lm_head.shards.{r}.weight = slice(lm_head.weight, dim=0, start=50 * {r}, end=50 * {r} + 50)\n"
        "relation norm.weight = norm.weight\n");
  CHECK(format_program(parse(once)) == once);
  CHECK(print_statement(*parse(once).statements[3]) == "relation norm.weight = norm.weight");
  // A short relation written over two lines joins; comments inside move before it.
  CHECK(format_program(parse("relation a.{i} =  # why\n  b.{i}\n")) == "# why\nrelation a.{i} = b.{i}\n");
}

TEST_CASE("the interpreter checks a declaration's form and hands the declarations out, located") {
  testing::TempDir dir;
  auto file = dir.write("model.rules",
                        "version 1\n"
                        "relation layers.{i}.mlp.down_proj.shards.{r}.weight =\n"
                        "  slice(layers.{i}.mlp.down_proj.weight, dim=1, start=64 * {r}, end=64 * {r} + 64)\n"
                        "relation norm.weight = norm.weight\n");
  InterpreterOptions options;
  options.allowed_read_dirs = {dir.path};
  Interpreter twin(options);
  twin.load_declarations(file);
  const auto& declared = twin.declared_relations();
  REQUIRE(declared.size() == 2);
  CHECK(declared[0].port == "layers.{i}.mlp.down_proj.shards.{r}.weight");
  CHECK(declared[0].placeholders == std::vector<std::string>{"i", "r"});
  CHECK(declared[0].location.line == 2);
  CHECK(declared[0].location.to_string().find("model.rules:2:1") != std::string::npos);
  CHECK(declared[1].placeholders.empty());

  auto bindings = match_pattern(declared[0].port, "layers.31.mlp.down_proj.shards.1.weight");
  REQUIRE(bindings);
  CHECK(*bindings == PatternBindings{{"i", "31"}, {"r", "1"}});
  CHECK_FALSE(match_pattern(declared[0].port, "layers.31.mlp.down_proj.weight"));
  CHECK_FALSE(match_pattern(declared[0].port, "layers..mlp.down_proj.shards.1.weight"));
  CHECK_FALSE(match_pattern("a.{i}.b.{i}", "a.1.b.2"));
  CHECK(match_pattern("a.{i}.b.{i}", "a.1.b.1"));

  InstantiatedRelation inst = instantiate_relation(declared[0], *bindings);
  CHECK(print_term(*inst.term) == "slice(layers.31.mlp.down_proj.weight, dim=1, start=64, end=128)");
  REQUIRE(inst.sources.size() == 1);
  CHECK(inst.sources[0].first == "layers.31.mlp.down_proj.weight");
  CHECK(inst.sources[0].second.line == 3);
  CHECK(inst.sources[0].second.column == 9);
}

TEST_CASE("declaration errors: unbound placeholders, non-terms, duplicates, patterns outside relations") {
  Error unbound = load_error("version 1\nrelation layers.{i}.w = slice(layers.{j}.w, dim=0, start=0, end={i})\n");
  CHECK(unbound.kind() == ErrorKind::Syntax);
  CHECK(unbound.location().column == 31);
  CHECK(unbound.message().find("placeholder {j} is not bound by the left side `layers.{i}.w`") != std::string::npos);

  Error number = load_error("version 1\nrelation norm.weight = slice(norm.weight, dim=0, start={r}, end=4)\n");
  CHECK(number.location().column == 56);
  CHECK(number.message().find("(it has none)") != std::string::npos);

  Error not_term = load_error("version 1\nrelation norm.weight = {\"a\": norm.weight}\n");
  CHECK(not_term.location().column == 24);
  CHECK(not_term.message().find("a map cannot appear in a term") != std::string::npos);

  Error twice = load_error("version 1\nrelation norm.weight = norm.weight\nrelation norm.weight = x.weight\n");
  CHECK(twice.location().line == 3);
  CHECK(twice.message().find("already declared at") != std::string::npos);

  testing::CapturingInterpreter script;
  try {
    script.run("let w = layers.{i}.weight\n");
    FAIL("a pattern outside a relation should fail");
  } catch (const Error& e) {
    CHECK(e.message().find("only meaningful in a `relation` declaration") != std::string::npos);
  }
  // A script may declare relations too; they join the interpreter's list.
  script.run("relation norm.weight = norm.weight\n");
  CHECK(script.interpreter.declared_relations().size() == 1);
}
