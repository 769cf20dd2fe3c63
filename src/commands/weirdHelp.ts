// /weird-help: what negative temperature is, in two short paragraphs.
import { SlashCommandBuilder, type ChatInputCommandInteraction } from "discord.js";
import { answerPrivately } from "./context.js";

export function definition() {
  return new SlashCommandBuilder().setName("weird-help").setDescription("What sampling below absolute zero means");
}

export const HELP_TEXT = [
  "A language model picks each next token from a Boltzmann distribution, p ∝ exp(z/T), where z is the model's score for a token. " +
    "At T = 1 you get its usual style, near T = 0⁺ always its favourite token, and at large T anything goes. " +
    "β = 1/T is the inverse temperature: it is shown beside T on every result.",
  "Below zero the order flips: p ∝ exp(−z/|T|), so the tokens the model thinks *least* likely win. " +
    "At T = −0.001 (β = −1000) you get the model's single least likely token over and over, often an odd fragment repeated in a loop; " +
    "at T = −1 a wilder mix of improbable pieces. Use `/weird prompt:… temp:-0.001`, vote for the strangest outputs, and reroll or flip the sign with the buttons.",
].join("\n\n");

export async function execute(interaction: ChatInputCommandInteraction): Promise<void> {
  await answerPrivately(interaction, HELP_TEXT);
}
