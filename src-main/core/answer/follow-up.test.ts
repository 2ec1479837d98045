import { describe, expect, it } from 'vitest';
import { refersBack, retrievalQueryFor } from './answer-service';

describe('issue 13.3: a question is joined with the previous one only when it refers back', () => {
  it.each([
    'and how do I reset it?',
    'How do I do that?',
    'How about Press-3?',
    'Why?',
    '那 F0001 呢？',
    '怎麼做？',
    '它的保固期多久？',
  ])('refers back: %s', (q) => {
    expect(refersBack(q)).toBe(true);
  });

  it.each([
    'What is the warranty period of the robot arm?',
    'F0001',
    '復位',
    '高壓電作業前要做什麼？',
    'What does the part that moves do?',
    'Is it possible to add or remove contacts from groups?',
  ])('a new question: %s', (q) => {
    expect(refersBack(q)).toBe(false);
  });

  it('joins only follow-ups with the previous question for retrieval', () => {
    const prev = ['How do I lock out the conveyor before maintenance?'];
    expect(retrievalQueryFor('What is the warranty period of the robot arm?', prev)).toBe(
      'What is the warranty period of the robot arm?',
    );
    expect(retrievalQueryFor('And how do I remove it?', prev)).toBe(`${prev[0]}\nAnd how do I remove it?`);
    expect(retrievalQueryFor('And how do I remove it?', [])).toBe('And how do I remove it?');
  });
});
