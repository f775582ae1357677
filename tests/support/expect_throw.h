// EXPECT_THROW_MSG(statement, exception_type, message): `statement` throws an `exception_type`
// whose what() is exactly `message` — the whole line a user reads, not a fragment of it. On a
// failure it says which of the three went wrong: nothing thrown, another type, another message
// (both messages shown). ASSERT_THROW_MSG stops the test instead.
//
// EXPECT_THROW_THAT(statement, exception_type, matcher) is for the few messages that end in text
// the project does not write (libtorch's, SQLite's, the C library's): the same checks, with a
// gmock matcher on what() (e.g. StartsWith) in place of the whole message.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <exception>
#include <sstream>
#include <string>
#include <utility>

namespace tlr::testing {

template <typename Exception, typename Action>
::testing::AssertionResult throws_with_message(const char* statement, const char* type,
                                               Action&& action, const std::string& expected) {
  try {
    std::forward<Action>(action)();
  } catch (const Exception& e) {
    if (expected == e.what()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << statement << " threw " << type << " with another message\n"
           << "  expected: " << expected << "\n"
           << "    actual: " << e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure()
           << statement << " threw another type than " << type << ": " << e.what();
  } catch (...) {
    return ::testing::AssertionFailure()
           << statement << " threw something that is not a std::exception";
  }
  return ::testing::AssertionFailure()
         << statement << " threw nothing; expected " << type << ": " << expected;
}

template <typename Exception, typename Action>
::testing::AssertionResult throws_matching(const char* statement, const char* type, Action&& action,
                                           const ::testing::Matcher<const std::string&>& matcher) {
  try {
    std::forward<Action>(action)();
  } catch (const Exception& e) {
    const std::string message = e.what();
    ::testing::StringMatchResultListener why;
    if (matcher.MatchAndExplain(message, &why)) return ::testing::AssertionSuccess();
    std::ostringstream expected;
    matcher.DescribeTo(&expected);
    return ::testing::AssertionFailure()
           << statement << " threw " << type << " with a message that does not match\n"
           << "  expected: " << expected.str() << "\n"
           << "    actual: " << message << " " << why.str();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure()
           << statement << " threw another type than " << type << ": " << e.what();
  } catch (...) {
    return ::testing::AssertionFailure()
           << statement << " threw something that is not a std::exception";
  }
  return ::testing::AssertionFailure() << statement << " threw nothing; expected " << type;
}

}  // namespace tlr::testing

#define EXPECT_THROW_MSG(statement, exception_type, message)        \
  EXPECT_TRUE((::tlr::testing::throws_with_message<exception_type>( \
      #statement, #exception_type, [&]() { statement; }, std::string(message))))
#define ASSERT_THROW_MSG(statement, exception_type, message)        \
  ASSERT_TRUE((::tlr::testing::throws_with_message<exception_type>( \
      #statement, #exception_type, [&]() { statement; }, std::string(message))))
#define EXPECT_THROW_THAT(statement, exception_type, matcher)   \
  EXPECT_TRUE((::tlr::testing::throws_matching<exception_type>( \
      #statement, #exception_type, [&]() { statement; }, matcher)))
