#include "interp/guard_lowering.h"

#include "compiler/guard_queries.h"
#include "util/error.h"

#include <map>
#include <optional>

namespace twin {

namespace eg = twin::egraph;

eg::ScalarExpr lower_scalar(const Expr& e, const std::string& context) {
  using S = eg::ScalarExpr;
  auto unsupported = [&](const std::string& what) -> S {
    throw Error(ErrorKind::Syntax,
                what + " cannot appear in " + context +
                    "; expected comparisons, and/or/not, arithmetic, pattern variables, constants and queries such as "
                    "is_const(?x)",
                e.location);
  };
  switch (e.kind) {
    case ExprKind::PatternVar: return S::var(e.text);
    case ExprKind::Number: return S::constant(e.number);
    case ExprKind::String: return S::string(e.text);
    case ExprKind::Bool: return S::boolean_value(e.boolean);
    case ExprKind::Name: return S::string(e.text);  // dtype names and other symbolic constants
    case ExprKind::Unary: {
      S operand = lower_scalar(*e.operands[0], context);
      if (operand.kind == S::Kind::Constant) return S::constant(-operand.number);
      return S::neg(std::move(operand));
    }
    case ExprKind::Binary: {
      static const std::map<std::string, S::ArithOp> ops = {{"+", S::ArithOp::Add}, {"-", S::ArithOp::Sub},
                                                            {"*", S::ArithOp::Mul}, {"/", S::ArithOp::Div},
                                                            {"%", S::ArithOp::Mod}, {"**", S::ArithOp::Pow}};
      return S::arith_op(ops.at(e.text), lower_scalar(*e.operands[0], context), lower_scalar(*e.operands[1], context));
    }
    case ExprKind::Compare: {
      static const std::map<std::string, S::CompareOp> ops = {{"==", S::CompareOp::Eq}, {"!=", S::CompareOp::Ne},
                                                              {"<", S::CompareOp::Lt},  {"<=", S::CompareOp::Le},
                                                              {">", S::CompareOp::Gt},  {">=", S::CompareOp::Ge}};
      std::optional<S> result;
      for (std::size_t i = 0; i < e.compare_ops.size(); ++i) {
        S link = S::compare_op(ops.at(e.compare_ops[i]), lower_scalar(*e.operands[i], context),
                               lower_scalar(*e.operands[i + 1], context));
        result = result ? S::and_(std::move(*result), std::move(link)) : std::move(link);
      }
      return *result;
    }
    case ExprKind::And: return S::and_(lower_scalar(*e.operands[0], context), lower_scalar(*e.operands[1], context));
    case ExprKind::Or: return S::or_(lower_scalar(*e.operands[0], context), lower_scalar(*e.operands[1], context));
    case ExprKind::Not: return S::not_(lower_scalar(*e.operands[0], context));
    case ExprKind::Call: {
      const Expr& callee = *e.operands[0];
      if (callee.kind != ExprKind::Name) return unsupported("this call");
      if (compiler::guard_queries().index_of(callee.text) < 0)
        throw Error(ErrorKind::Name, "unknown query '" + callee.text + "' in " + context, callee.location);
      std::vector<S> args;
      for (std::size_t i = 1; i < e.operands.size(); ++i) {
        if (!e.arg_names[i - 1].empty()) return unsupported("a named argument");
        args.push_back(lower_scalar(*e.operands[i], context));
      }
      return S::query(callee.text, std::move(args));
    }
    default: return unsupported("this expression");
  }
}

}  // namespace twin
